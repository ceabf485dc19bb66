"""/api/v1/usage: my tier, its limits, and what is left of each."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.adapters import admission
from app.api.access import resolve_access
from app.api.deps import Caller, SessionDep, require_scope
from app.api.errors import ApiError
from app.api.rate_charge import rate_limits
from app.api.schemas import ErrorOut, UsageLimits, UsageOut, UsageRemaining, UsageResets

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])
UsageCaller = Annotated[Caller, Depends(require_scope("usage:read"))]


@router.get("", response_model=UsageOut, responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}}, summary="My limits and what is left")
async def read_usage(request: Request, caller: UsageCaller, session: SessionDep) -> UsageOut:
    state = request.app.state
    projection = await admission.read_projection(session, caller.user_id, caller.api_key_id)
    access = resolve_access(caller, projection, state.tier_policy)
    limits = access.limits
    live = await admission.count_active(session, caller.user_id, caller.api_key_id)
    await session.commit()
    try:
        peek = await state.rate_limiter.peek(rate_limits(state.rate_limiter, caller, access))
    except Exception as exc:  # noqa: BLE001 - Redis away: say so rather than guess
        raise ApiError(503, "service_unavailable", "usage is unavailable right now; try again shortly", headers={"Retry-After": "5"}) from exc
    # Several budgets (the user's and a key's): what is left is what the tightest one leaves.
    rate = min(peek.states, key=lambda s: s.remaining)
    concurrency = min(b.concurrency for b in access.budgets)
    concurrent_left = min(b.concurrency - live.of(b.scope) for b in access.budgets)
    now = datetime.now(timezone.utc)
    account = projection.account
    today = now.date()
    used = admission.allowance_used_on(account, today) if account is not None else 0
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return UsageOut(
        tier=access.tier,
        limits=UsageLimits(
            requests_per_minute=access.requests_per_minute, images_per_day=limits.images_per_day, concurrency=concurrency,
            max_width=limits.max_width, max_height=limits.max_height, max_steps=limits.max_steps,
        ),
        remaining=UsageRemaining(
            requests_this_minute=max(0, rate.remaining), images_today=max(0, limits.images_per_day - used),
            credits=account.credits if account is not None else 0, concurrent_jobs=max(0, concurrent_left),
        ),
        resets_at=UsageResets(minute=now + timedelta(seconds=rate.reset_s), day=midnight),
    )
