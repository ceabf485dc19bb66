"""A submission's cost, spent from its rate-limit budgets and given back if it is refused.

Admission asks the rate limit at the same time as it counts live jobs (one wait instead of
two), so the cost is already spent when a concurrency cap, the quota, a bad upload or a
failed write refuses the job. Refused submissions must not use up the budget (a client
retrying against its concurrency cap would otherwise lock itself out for a minute): the
charge is refunded on every path that does not commit the job.
"""
from __future__ import annotations

import logging

from app.adapters.ratelimit import Decision, Limit, RateLimiter
from app.api.access import USER, Access
from app.api.deps import Caller
from app.api.errors import ApiError

log = logging.getLogger("pre_inference.rate_charge")


def rate_limits(limiter: RateLimiter, caller: Caller, access: Access) -> list[Limit]:
    """One Redis bucket per budget: the user's, and/or this API key's."""
    return [
        Limit(budget.scope, limiter.user_key(caller.user_id) if budget.scope == USER else limiter.api_key_key(caller.api_key_id),
              budget.requests_per_minute)
        for budget in access.budgets
    ]


def too_many(code: str, message: str, retry_after: int, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(429, code, message, retry_after=retry_after, headers={**(headers or {}), "Retry-After": str(retry_after)})


class RateCharge:
    def __init__(self, limiter: RateLimiter, limits: list[Limit], cost: float):
        self._limiter = limiter
        self._limits = limits
        self._cost = cost
        self._spent = False

    async def spend(self) -> Decision:
        """Spends the cost from every budget at once, or refuses (nothing spent then)."""
        tightest = min(limit.per_minute for limit in self._limits)
        if self._cost > tightest:
            raise ApiError(
                422, "exceeds_tier", f"this job costs {self._cost} units; your limit is {tightest} per minute",
                fields={"cost": [f"over your limit of {tightest} units per minute"]},
            )
        try:
            decision = await self._limiter.consume(self._limits, self._cost)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: refuse rather than admit unlimited
            raise ApiError(503, "service_unavailable", "the rate limiter is unavailable; try again shortly", headers={"Retry-After": "5"}) from exc
        if not decision.allowed:
            raise too_many("rate_limited", f"over {tightest} cost units per minute", decision.retry_after_s, decision.headers())
        self._spent = True
        return decision

    async def refund(self) -> None:
        """Idempotent; best effort (Redis away: the budget refills within a minute anyway)."""
        if not self._spent:
            return
        self._spent = False
        try:
            await self._limiter.refund(self._limits, self._cost)
        except Exception as exc:  # noqa: BLE001 - the refusal is what the caller must see
            log.warning("could not refund %s rate-limit units: %r", self._cost, exc)
