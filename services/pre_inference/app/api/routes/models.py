"""/api/v1/models: the model catalogue (app.domain.catalogue) for any signed-in caller: each
model the workers announce, its state, its family's limits and the tiers that may use it.
The generate form offers these; admission refuses by the same entries."""
from __future__ import annotations

from fastapi import APIRouter, Request

from app.adapters import admission, catalogue
from app.api.access import resolve_access
from app.api.deps import CallerDep, SessionDep
from app.api.schemas import ErrorOut, ModelLimitsOut, ModelOut, ModelsOut
from app.domain import policy

router = APIRouter(prefix="/api/v1/models", tags=["models"])


@router.get("", response_model=ModelsOut, summary="The models the workers serve, with state, limits and tiers",
            responses={401: {"model": ErrorOut, "description": "missing, expired or forged token"}})
async def list_models(request: Request, caller: CallerDep, session: SessionDep) -> ModelsOut:
    tier_policy: policy.TierPolicy = request.app.state.tier_policy
    entries, _ = await catalogue.read_entries(session)
    # The caller's current tier, as admission sees it (the projection's, the token's as fallback).
    projection = await admission.read_projection(session, caller.user_id, caller.api_key_id)
    tier = resolve_access(caller, projection, tier_policy).tier
    return ModelsOut(models=[
        ModelOut(name=entry.name, state=entry.state, family=entry.family, variant=entry.variant, kinds=list(entry.kinds),
                 schedulers=None if entry.schedulers is None else list(entry.schedulers),
                 limits=ModelLimitsOut(**{k: entry.limits[k] for k in ModelLimitsOut.model_fields}),
                 tiers=tier_policy.tiers_for_model(entry.name), allowed=tier_policy.model_allowed(entry.name, tier),
                 loras=list(entry.loras))
        for entry in entries
    ])
