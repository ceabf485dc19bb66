"""/api/v1/jobs: submit a job (admission), cancel one.

Submit, in order: shape (pydantic) -> then in one DB transaction with the caller's
account row locked: an Idempotency-Key retry answered with the first job -> rules and
tier (422 `exceeds_tier`) -> verified (403) -> rate limits in Redis (429 `rate_limited`)
-> concurrency cap, allowance/credits reservation (429 `concurrency_limit` /
`quota_exceeded`) -> the job and its outbox messages. Limits bind the user across all
their keys and sessions (app.api.access); a submission refused after the rate limit
allowed it gets its cost refunded (app.api.rate_charge).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Awaitable, TypeVar

from atelier_kit.fastapi import StrictJsonRoute
from fastapi import APIRouter, Depends, Header, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.concurrency import run_in_threadpool

from app.adapters import admission, catalogue, job_events, jobs_repo, uploads
from app.api.access import Access, resolve_access
from app.api.deps import Caller, SessionDep, SettingsDep, SignerDep, require_json, require_scope
from app.api.errors import ApiError
from app.api.metrics import JOBS_SUBMITTED, count_admission
from app.api.presenters import job_out, parse_id
from app.api.rate_charge import RateCharge, rate_limits, too_many
from app.api.schemas import ErrorOut, JobOut, JobRequest
from app.config import Settings
from app.domain import catalogue as models
from app.domain import events, policy
from app.domain import jobs as rules
from app.domain.text_rules import is_clean_ascii_token

# Strict JSON: a body nested 100000 deep is 400 invalid_json (the stock decoder recurses per level).
router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], route_class=StrictJsonRoute)
log = logging.getLogger("pre_inference.jobs")

_ERRORS = {
    400: {"model": ErrorOut, "description": "malformed JSON"},
    401: {"model": ErrorOut, "description": "missing, expired or forged token"},
    403: {"model": ErrorOut, "description": "`email_unverified`, `insufficient_scope` or `account_deleted`"},
    415: {"model": ErrorOut, "description": "body is not application/json"},
    422: {"model": ErrorOut, "description": "invalid fields, `exceeds_tier`, `model_unknown` or `outside_model_limits` (naming the field)"},
    429: {"model": ErrorOut, "description": "`rate_limited`, `concurrency_limit` or `quota_exceeded`; see Retry-After, RateLimit, RateLimit-Policy"},
    503: {"model": ErrorOut, "description": "`model_unavailable`: no live worker serves the model now; see Retry-After"},
}
_CORRELATION_MAX = 128
# A model no live worker serves: a worker's heartbeat (10 s apart by default) may bring it back.
MODEL_RETRY_AFTER_S = 30
WriteCaller = Annotated[Caller, Depends(require_scope("jobs:write"))]
A = TypeVar("A")
B = TypeVar("B")


def _fingerprint(request: JobRequest) -> str:
    """Of the request as sent (not the filled-in params: a drawn seed differs per try)."""
    canonical = json.dumps(request.model_dump(exclude_unset=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _rule_error(exc: rules.JobRuleError) -> ApiError:
    return ApiError(422, exc.code, exc.message, fields={exc.field: [exc.message]} if exc.field else None)


async def _image_keys(
    request: Request, body: JobRequest, caller: Caller, access: Access, conn: AsyncConnection, job_id: uuid.UUID,
    stored: list[str],
) -> tuple[str | None, str | None]:
    """Storage keys of the init image and mask; what it uploads is appended to ``stored``."""
    settings = request.app.state.settings
    storage = request.app.state.storage
    keys: list[str | None] = []
    for field, value in (("init_image", body.init_image), ("mask", body.mask)):
        if value is None:
            keys.append(None)
            continue
        try:
            source = uploads.parse_source(field, value, settings.pre_inference_upload_max_bytes)
            if source.image_id is not None:
                key = await jobs_repo.image_key_for_user(conn, source.image_id, caller.user_id)
                if key is None:
                    raise uploads.UploadError(field, "names no image of yours")
                keys.append(key)
                continue
            png, _, _ = await run_in_threadpool(
                uploads.normalise, field, source.data, max_width=access.limits.max_width,
                max_height=access.limits.max_height, mask=field == "mask",
            )
            key = await run_in_threadpool(uploads.store_upload, storage, job_id, "init" if field == "init_image" else "mask", png, caller.user_id)
            stored.append(key)
            keys.append(key)
        except uploads.UploadError as exc:
            status_code = 413 if exc.code == "payload_too_large" else 422
            raise ApiError(status_code, exc.code, f"{field} {exc.message}", fields={field: [exc.message]}) from exc
    return keys[0], keys[1]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    responses={**_ERRORS, 200: {"model": JobOut, "description": "a retry with the same Idempotency-Key: the job made first"}, 409: {"model": ErrorOut},
               403: {"model": ErrorOut, "description": "`email_unverified`, `insufficient_scope`, `account_deleted` or `model_not_in_plan`"}},
    summary="Submit a generation job (txt2img, img2img, inpaint)",
)
async def submit_job(
    request: Request,
    caller: WriteCaller,
    _json: Annotated[None, Depends(require_json)],
    body: JobRequest,
    response: Response,
    settings: SettingsDep,
    signer: SignerDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    request_id: Annotated[str | None, Header(alias="X-Request-ID", include_in_schema=False)] = None,
) -> JobOut:
    request.state.admission_tier = caller.tier  # until admission resolves the effective one
    try:
        job = await _submit(request, caller, body, response, settings, signer, idempotency_key, request_id)
    except Exception as exc:
        count_admission(request, exc)
        raise
    if response.status_code != status.HTTP_200_OK:  # a 200 replays an earlier admission
        count_admission(request, None)
    return job


async def _submit(
    request: Request, caller: Caller, body: JobRequest, response: Response, settings: Settings, signer: SignerDep,
    idempotency_key: str | None, request_id: str | None,
) -> JobOut:
    try:
        key = rules.check_idempotency_key(idempotency_key)
        entry, refusal = await _model_entry(request, body.model or rules.DEFAULTS["model"])
        params = rules.build_params(body.model_dump(), defaults=models.defaults_for(entry))
    except rules.JobRuleError as exc:
        raise _rule_error(exc) from exc
    fingerprint = _fingerprint(body)
    stored: list[str] = []
    try:
        return await _admit(request, caller, body, response, settings, signer, params, key, fingerprint, request_id, stored,
                            entry, refusal)
    except BaseException:
        # Refused or failed after its images were uploaded: nothing will ever read them.
        if stored:
            await run_in_threadpool(_discard, request.app.state.storage, stored)
        raise


async def _model_entry(request: Request, name: str) -> tuple[models.ModelEntry | None, ApiError | None]:
    """The catalogue's entry for the job's model, and the refusal it earns (raised after an
    Idempotency-Key replay is answered). Until any worker has announced itself (a fresh
    platform), "default" is admitted as before catalogues and waits in the queue; so is a model
    that PRE_INFERENCE_MODEL_POOLS routes, where unserved models are admitted."""
    async with request.app.state.read_engine.connect() as conn:
        found, empty = await catalogue.read_entries(conn, name)
    if not found:
        settings: Settings = request.app.state.settings
        if empty and name == models.DEFAULT_MODEL:
            return None, None
        if settings.pre_inference_admit_unserved_models and name in settings.model_pools:
            # Routed by the operator to a pool that scales to zero and has never run yet: its
            # job is what starts the pool's first worker. Until one announces the model, the
            # job gets the platform's defaults and the worker checks the family's limits.
            return None, None
        message = f"no worker serves a model named {name!r}; GET /api/v1/models lists them"
        return None, ApiError(422, "model_unknown", message, fields={"model": [message]})
    entry = found[0]
    if not entry.available and not request.app.state.settings.pre_inference_admit_unserved_models:
        # 503, not 409: nothing about the request is wrong, and it may succeed later unchanged,
        # once a worker serving the model is back.
        return entry, ApiError(503, "model_unavailable", f"no live worker serves {name!r} now; try again later",
                               retry_after=MODEL_RETRY_AFTER_S, headers={"Retry-After": str(MODEL_RETRY_AFTER_S)})
    return entry, None


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Both results; if either failed, the first one's error wins (a refusal by the rate
    limit reads the same as when the two were asked one after the other)."""
    results = await asyncio.gather(first, second, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results[0], results[1]  # type: ignore[return-value]


def _discard(storage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - best effort; the refusal is what the caller must see
            log.warning("could not delete the orphaned upload %s", key, exc_info=True)


async def _admit(
    request: Request, caller: Caller, body: JobRequest, response: Response, settings: Settings, signer: SignerDep,
    params: rules.JobParams, key: str | None, fingerprint: str, request_id: str | None, stored: list[str],
    model: models.ModelEntry | None = None, model_refusal: ApiError | None = None,
) -> JobOut:
    tier_policy: policy.TierPolicy = request.app.state.tier_policy
    limiter = request.app.state.rate_limiter
    charge: RateCharge | None = None
    try:
        # One transaction, the caller's account locked from its first statement: any error
        # below rolls back everything, including an account row made just now.
        async with request.app.state.engine.begin() as conn:
            admitting = await admission.begin(conn, caller.user_id, caller.api_key_id)
            if key is not None:
                # A retry must not spend rate or quota again: answer it before any limit.
                existing = await admission.job_id_for_key(conn, caller.user_id, key)
                if existing is not None:
                    return await _replay(conn, existing, caller, fingerprint, response, signer)
            if model_refusal is not None:
                raise model_refusal
            access = resolve_access(caller, admitting.projection, tier_policy)
            request.state.admission_tier = access.tier
            if not tier_policy.model_allowed(params.model, access.tier):
                raise ApiError(403, "model_not_in_plan", f"{params.model!r} is not part of the {access.tier} tier; "
                               f"tiers that may use it: {', '.join(tier_policy.tiers_for_model(params.model)) or 'none'}")
            try:
                policy.check_request(params, access.limits, tier_policy.largest())
                # After the tier's: a size no tier allows stays `exceeds_tier`, whatever the model.
                if model is not None:
                    models.check_params(params, model)
                else:
                    models.check_loras(params, None)
            except rules.JobRuleError as exc:
                raise _rule_error(exc) from exc
            if not access.verified and settings.pre_inference_require_verified_email:
                raise ApiError(403, "email_unverified", "verify your email address before generating images")
            cost = policy.cost_units(params)
            now = datetime.now(timezone.utc)
            charge = RateCharge(limiter, rate_limits(limiter, caller, access), cost)
            # Independent questions to two servers (Redis, and Postgres under the account lock):
            # asked at once, one wait instead of two. Whatever refuses the job after this
            # point refunds the charge (the `except` below).
            # The queue of a pool of workers that serves the model (models.pool_for).
            pool = models.pool_for(params.model, model, settings.model_pools)
            decision, (live, starving) = await _both(
                charge.spend(),
                admitting.live(access.limits.priority, now - timedelta(seconds=settings.pre_inference_starvation_after_s), pool),
            )
            for name, value in decision.headers().items():
                response.headers[name] = value

            job_id = uuid.uuid4()
            init_key, mask_key = await _image_keys(request, body, caller, access, conn, job_id, stored)
            params = rules.JobParams(**{**params.to_dict(), "init_image_key": init_key, "mask_key": mask_key})
            try:
                reservation = admitting.reserve(params.n, access.limits, access.budgets, live, now)
            except admission.Refused as exc:
                raise too_many(exc.code, exc.message, exc.retry_after_s or 1, decision.headers()) from exc
            # Lower-priority work that has waited too long: this job queues at its priority,
            # behind it (FIFO within a priority), so paid work cannot starve free work however
            # busy the queue is; it keeps the tier's priority again once nothing lower is that old.
            priority = access.limits.priority if starving is None else starving
            deadline_at = rules.deadline_for(now, settings.pre_inference_job_deadline_s)
            # The request id only names log lines and messages: one we could not store or print
            # safely (control characters, non-ASCII, too long) is replaced, not refused.
            correlation_id = request_id if request_id and is_clean_ascii_token(request_id, _CORRELATION_MAX) else str(job_id)
            envelopes = [
                events.job_requested(
                    job_id=job_id, user_id=caller.user_id, params=params.to_dict(), priority=priority,
                    deadline_at=deadline_at, correlation_id=correlation_id,
                ),
                events.job_accepted(
                    job_id=job_id, user_id=caller.user_id, api_key_id=caller.api_key_id, kind=params.kind,
                    images=params.n, cost=cost, accepted_at=now, correlation_id=correlation_id,
                ),
            ]
            new_job = jobs_repo.NewJob(
                id=job_id, user_id=caller.user_id, api_key_id=caller.api_key_id, tier=access.tier, kind=params.kind,
                params=params.to_dict(), priority=priority, idempotency_key=key, request_fingerprint=fingerprint,
                deadline_at=deadline_at, created_at=now, cost=cost, pool=pool,
            )
            job = await admitting.insert(new_job, reservation, envelopes)
    except BaseException:
        # Refused (or failed) after the rate limit allowed it: the cost goes back (finding 10).
        if charge is not None:
            await charge.refund()
        raise
    stored.clear()  # committed: the job owns its uploads now
    JOBS_SUBMITTED.labels(tier=access.tier).inc()
    response.headers["Location"] = f"{router.prefix}/{job.id}"
    return job_out(job, signer)


async def _replay(conn: AsyncConnection, job_id: uuid.UUID, caller: Caller, fingerprint: str, response: Response, signer: SignerDep) -> JobOut:
    job = await jobs_repo.get_job_view(conn, job_id, caller.user_id)
    if job is None or job.request_fingerprint != fingerprint:
        raise ApiError(409, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
    response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"{router.prefix}/{job.id}"
    return job_out(job, signer)


@router.delete(
    "/{job_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    responses={401: _ERRORS[401], 403: _ERRORS[403], 404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "`job_finished`"}},
    summary="Cancel one of my jobs",
)
async def cancel_job(job_id: str, caller: WriteCaller, session: SessionDep, signer: SignerDep, request: Request) -> JobOut:
    parsed = parse_id(job_id)
    now = datetime.now(timezone.utc)
    async with session.begin():
        canceled = await session.run_sync(lambda s: job_events.cancel(s, parsed, caller.user_id, now))
    if canceled is not None:
        await request.app.state.notifier.publish(parsed)
    async with request.app.state.read_engine.connect() as conn:
        job = await jobs_repo.get_job_view(conn, parsed, caller.user_id)
    if job is None:
        raise ApiError(404, "not_found", "no such job")
    if canceled is None:
        raise ApiError(409, "job_finished", f"the job already {job.status}")
    return job_out(job, signer)
