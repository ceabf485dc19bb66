"""/api/v1/tiers: what each tier allows, for anyone (the front page and pricing show it before
sign-up). The same policy admission enforces, so the page never promises what the API refuses."""
from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response

from app.api.schemas import CostUnit, TierOut, TiersOut
from app.domain import policy

router = APIRouter(prefix="/api/v1/tiers", tags=["tiers"])
# Policy changes need a restart; a minute of caching is fresh enough for a page.
CACHE_CONTROL = "public, max-age=60"


@router.get("", response_model=TiersOut, summary="What each tier allows (public)")
async def list_tiers(request: Request, response: Response) -> TiersOut:
    tier_policy: policy.TierPolicy = request.app.state.tier_policy
    response.headers["Cache-Control"] = CACHE_CONTROL
    tiers = []
    for name, limits in tier_policy.tiers.items():
        values = asdict(limits)
        tiers.append(TierOut(tier=name, cost_units_per_minute=values.pop("requests_per_minute"),
                             per_key=tier_policy.counts_per_key(name), **values))
    reference = int(policy.REFERENCE_PIXELS ** 0.5)
    return TiersOut(tiers=tiers, cost_unit=CostUnit(width=reference, height=reference, steps=policy.REFERENCE_STEPS))
