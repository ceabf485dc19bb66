"""Who the caller is for admission purposes, and which budgets a submission spends.

The tier is the owner's CURRENT tier: the account projection (fed by
``auth.user.tier_changed``) first, the token's claim only while no auth event was seen
yet. Never the tier an API key's projection row carries: ``auth.api_key.created`` copies
the owner's tier of the moment the key was made, so trusting it let a key keep pro limits
after a downgrade (and stay free after an upgrade).

Rate limit and concurrency are budgets. For per-user tiers (free, pro) the budget is the
user's, shared by all their keys and sessions; a key's own staff-set ``limits`` add a
narrower key budget and can never widen anything. For per-key tiers (partner) each key
has its own budget, from the tier with the key's overrides, as the design says.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from app.adapters.admission import Projection
from app.api.deps import Caller
from app.api.errors import ApiError
from app.domain.policy import TierLimits, TierPolicy

USER = "user"
KEY = "key"
_BUDGET_FIELDS = ("requests_per_minute", "concurrency")


@dataclass(frozen=True)
class Budget:
    """A rate limit and a concurrency cap, counted over ``scope``: the user's requests and
    live jobs (all keys and sessions together), or this API key's alone."""

    scope: str
    requests_per_minute: int
    concurrency: int


@dataclass(frozen=True)
class Access:
    tier: str
    # What one request may ask for (size, steps, n), the daily allowance and the priority.
    limits: TierLimits
    verified: bool
    budgets: tuple[Budget, ...]

    @property
    def requests_per_minute(self) -> int:
        return min(b.requests_per_minute for b in self.budgets)


def resolve_access(caller: Caller, projection: Projection, policy: TierPolicy) -> Access:
    account, key = projection.account, projection.api_key
    if account is not None and account.deleted:
        raise ApiError(403, "account_deleted", "this account was deleted")
    if caller.api_key_id is not None and key is not None and key.revoked:
        raise ApiError(401, "api_key_revoked", "this API key was revoked")
    tier = _staff_tier(caller, policy) or (account.tier if account is not None and account.tier else caller.tier)
    base = policy.limits_for(tier)
    # Verified once means verified: either source saying so is enough.
    verified = caller.verified or bool(account is not None and account.verified)
    if caller.api_key_id is None:
        return Access(tier, base, verified, (Budget(USER, base.requests_per_minute, base.concurrency),))
    overrides = _key_overrides(caller, key)
    if policy.counts_per_key(tier):
        limits = base.with_overrides(overrides)
        return Access(tier, limits, verified, (Budget(KEY, limits.requests_per_minute, limits.concurrency),))
    limits = base.narrowed_by(overrides)
    budgets = [Budget(USER, base.requests_per_minute, base.concurrency)]
    if overrides and any(name in overrides for name in _BUDGET_FIELDS):
        budgets.append(Budget(KEY, limits.requests_per_minute, limits.concurrency))
    return Access(tier, limits, verified, tuple(budgets))


def _staff_tier(caller: Caller, policy: TierPolicy) -> str | None:
    """A tier staff set on the API key itself (auth's ``tier_override`` claim): it stays as
    staff set it whatever the owner's tier becomes. Only key tokens carry it."""
    if caller.api_key_id is None:
        return None
    override = caller.identity.claims.get("tier_override")
    return override if isinstance(override, str) and override in policy.tiers else None


def _key_overrides(caller: Caller, key: Any) -> Mapping[str, Any] | None:
    """The key's staff-set limits: the projection's, else (not seen yet) the token's."""
    if key is not None and key.limits is not None:
        return key.limits
    return caller.key_limits
