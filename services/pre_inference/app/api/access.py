"""Who the caller is for admission purposes: tier and limits from the projection first
(the token's claim may be up to 15 minutes stale), the token as fallback."""
from __future__ import annotations

from dataclasses import dataclass

from app.adapters.admission import Projection
from app.api.deps import Caller
from app.api.errors import ApiError
from app.domain.policy import TierLimits, TierPolicy


@dataclass(frozen=True)
class Access:
    tier: str
    limits: TierLimits
    verified: bool


def resolve_access(caller: Caller, projection: Projection, policy: TierPolicy) -> Access:
    account, key = projection.account, projection.api_key
    if account is not None and account.deleted:
        raise ApiError(403, "account_deleted", "this account was deleted")
    if caller.api_key_id is not None:
        if key is not None and key.revoked:
            raise ApiError(401, "api_key_revoked", "this API key was revoked")
        tier = key.tier if key is not None and key.tier else caller.tier
        overrides = key.limits if key is not None and key.limits is not None else caller.key_limits
    else:
        tier = account.tier if account is not None and account.tier else caller.tier
        overrides = None
    # Verified once means verified: either source saying so is enough.
    verified = caller.verified or bool(account is not None and account.verified)
    return Access(tier=tier, limits=policy.limits_for(tier, overrides), verified=verified)
