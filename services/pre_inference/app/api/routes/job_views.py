"""/api/v1/jobs reads: one job, my jobs (paged), and a job's live event stream (SSE)."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated

import redis
from atelier_kit import tracing
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from app.adapters import jobs_repo
from app.adapters.notify import preview_key, usable_preview
from app.adapters.ratelimit import REDIS_TIMEOUT_S
from app.api.deps import Caller, ReadConnDep, SignerDep, check_scope, get_stream_caller, require_scope
from app.api.errors import ApiError
from app.api.presenters import decode_cursor, encode_cursor, job_out, parse_id
from app.api.schemas import ErrorOut, JobOut, JobPage
from app.domain.lifecycle import RUNNING, TERMINAL

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
log = logging.getLogger("pre_inference.sse")
ReadCaller = Annotated[Caller, Depends(require_scope("jobs:read"))]
_401 = {"model": ErrorOut, "description": "missing, expired or forged token"}
_403 = {"model": ErrorOut, "description": "`insufficient_scope` (an API key without jobs:read)"}


@router.get("/{job_id}", response_model=JobOut, responses={401: _401, 403: _403, 404: {"model": ErrorOut}}, summary="Read one of my jobs")
async def read_job(job_id: str, caller: ReadCaller, conn: ReadConnDep, signer: SignerDep) -> JobOut:
    job = await jobs_repo.get_job_view(conn, parse_id(job_id), caller.user_id)
    if job is None:
        raise ApiError(404, "not_found", "no such job")
    return job_out(job, signer)


@router.get("", response_model=JobPage, responses={401: _401, 403: _403, 422: {"model": ErrorOut}}, summary="List my jobs, newest first")
async def list_jobs(
    caller: ReadCaller,
    conn: ReadConnDep,
    signer: SignerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobPage:
    before = decode_cursor(cursor) if cursor else None
    jobs = await jobs_repo.list_job_views(conn, caller.user_id, limit=limit + 1, before=before)
    page, more = jobs[:limit], len(jobs) > limit
    items = [job_out(j, signer) for j in page]
    return JobPage(items=items, next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None)


def _sse(job: JobOut) -> str:
    return f"event: job\ndata: {json.dumps(job.model_dump(mode='json'), separators=(',', ':'))}\n\n"


def _sse_preview(job: JobOut, image: str) -> str:
    body = {"job_id": str(job.id), "step": job.step, "image": image}
    return f"event: preview\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`event: job` with the job JSON on every change, the first being the current state; while the job runs, `event: preview` with `{job_id, step, image}` (a small `data:image/jpeg;base64,...` picture of its first image so far) where the worker sends one; `: keepalive` every 15 s; ends after a terminal state."},
        401: _401, 403: _403, 404: {"model": ErrorOut},
        429: {"model": ErrorOut, "description": "`too_many_streams`: this user already holds the most streams allowed; see Retry-After"},
    },
    summary="Follow one of my jobs (Server-Sent Events)",
)
async def job_events_stream(request: Request, job_id: str, caller: Annotated[Caller, Depends(get_stream_caller)]) -> StreamingResponse:
    check_scope(caller, "jobs:read")  # the header-or-query caller: require_scope cannot wrap it
    parsed = parse_id(job_id)
    state = request.app.state
    keepalive_s = state.settings.pre_inference_sse_keepalive_s

    async def stored_preview() -> str | None:
        """The newest preview of a job already running when the stream opens (app.adapters.notify)."""
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S):
                return usable_preview(await state.redis.get(preview_key(state.settings.atelier_redis_prefix, parsed)))
        except (redis.RedisError, TimeoutError) as exc:
            log.debug("no stored preview for %s: %r", parsed, exc)  # the next progress brings one
            return None

    async def snapshot() -> JobOut | None:
        # A connection per read, given back at once: an idle stream holds none of the pool.
        async with state.read_engine.connect() as conn:
            job = await jobs_repo.get_job_view(conn, parsed, caller.user_id)
        return job_out(job, state.signer) if job is not None else None

    # Taken first, so a user at the cap costs no subscription and no read; given back on
    # every way out (refused here, the stream's end, the response's end).
    slot = state.stream_slots.take(caller.user_id)
    try:
        # Subscribed before the first snapshot is read, so no change can fall in between;
        # that first read also answers whether the job is the caller's at all.
        subscription = await state.job_changes.subscribe(parsed)
    except BaseException:
        slot.release()
        raise
    try:
        first = await snapshot()
        if first is None:
            raise ApiError(404, "not_found", "no such job")
    except BaseException:
        slot.release()
        await subscription.close()
        raise
    changed = subscription.changed

    async def close() -> None:
        slot.release()
        await subscription.close()

    async def stream() -> AsyncIterator[str]:
        last: str | None = None
        current: JobOut | None = first
        span = None  # while tracing: the change being sent continues the trace of its notice
        try:
            preview = await stored_preview() if first.status == RUNNING else None
            while True:
                if current is None:  # the user was deleted meanwhile
                    return
                encoded = _sse(current)
                if encoded != last:
                    if span is not None:
                        span.set_attribute("atelier.job_status", current.status)
                    yield encoded
                    last = encoded
                if preview is not None and current.status == RUNNING:
                    yield _sse_preview(current, preview)
                tracing.end_span(span)
                span = None
                if current.status in TERMINAL:
                    return
                try:
                    async with asyncio.timeout(keepalive_s):
                        await changed.wait()
                except TimeoutError:
                    # Quiet: a comment keeps proxies from closing the stream; the loop
                    # re-reads anyway, which also covers a lost notice (and queue moves).
                    yield ": keepalive\n\n"
                # Cleared before the read: a notice arriving during it leads to one more read.
                changed.clear()
                preview = subscription.take_preview()
                traceparent = subscription.take_traceparent()
                if traceparent is not None:
                    span = tracing.open_span("job stream update", kind="consumer", traceparent=traceparent,
                                             attributes={"atelier.job_id": str(parsed)})
                final = subscription.final
                # The job's end, as the transaction that ended it wrote it: sent without a read.
                current = job_out(final, state.signer) if final is not None and final.id == parsed else await snapshot()
        finally:
            tracing.end_span(span)
            await close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    # Also closed after the response: a client that leaves before the first byte can stop
    # the stream before its generator ever starts, and then its `finally` never runs.
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers,
                             background=BackgroundTask(close))
