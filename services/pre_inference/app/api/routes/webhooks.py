"""/api/v1/webhooks: a partner's endpoints that hear of its jobs' ends, and their delivery log.

Registering checks the URL's shape and every address its host resolves to (no loopback,
private, link-local, multicast or reserved address; app.domain.webhook_targets); each
delivery checks again (app.adapters.webhook_sender). The signing secret is answered once,
on create and on rotate, and kept encrypted (atelier_kit.secret_box). An API key needs the
``webhooks:manage`` scope, which a key gets only when asked for.
"""
from __future__ import annotations

import asyncio
from typing import Annotated

from atelier_kit.fastapi import StrictJsonRoute
from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from app.adapters import webhook_sender, webhooks_repo
from app.api.deps import Caller, SessionDep, SettingsDep, require_json, require_scope
from app.api.errors import ApiError
from app.api.presenters import decode_cursor, encode_cursor, parse_id
from app.api.schemas import ErrorOut
from app.api.webhook_schemas import DeliveryOut, DeliveryPage, WebhookIn, WebhookList, WebhookOut, WebhookWithSecret
from app.config import Settings
from app.domain import webhooks
from app.domain.webhook_targets import TargetRefused, parse_target
from app.adapters.webhook_secrets import secret_box

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], route_class=StrictJsonRoute)
WebhooksCaller = Annotated[Caller, Depends(require_scope("webhooks:manage"))]
RESOLVE_TIMEOUT_S = 5.0
_ERRORS = {
    401: {"model": ErrorOut, "description": "missing, expired or forged token"},
    403: {"model": ErrorOut, "description": "`insufficient_scope` (an API key without webhooks:manage)"},
}
_404 = {404: {"model": ErrorOut, "description": "no such endpoint (or not yours)"}}


def _out(endpoint: webhooks_repo.Endpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id, url=endpoint.url, description=endpoint.description,
        status="disabled" if endpoint.disabled_at else "active", disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at, secret_rotated_at=endpoint.secret_rotated_at,
    )


def _with_secret(endpoint: webhooks_repo.Endpoint, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**_out(endpoint).model_dump(), secret=secret)


def _delivery_out(delivery: webhooks_repo.Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id, event=delivery.event_type, job_id=delivery.job_id, status=delivery.status,  # type: ignore[arg-type]
        attempts=delivery.attempts, status_code=delivery.status_code, error=delivery.error, duration_ms=delivery.duration_ms,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_attempt_at=delivery.last_attempt_at, delivered_at=delivery.delivered_at, created_at=delivery.created_at,
    )


async def _checked_url(url: str, settings: Settings) -> str:
    """The URL's shape and its host's addresses, as a delivery will check them (422 otherwise)."""
    try:
        target = parse_target(url, https_only=settings.atelier_env == "production")
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            await run_in_threadpool(webhook_sender.resolve, target, allow_private=settings.pre_inference_webhooks_allow_private_targets)
    except TargetRefused as exc:
        raise ApiError(422, exc.code, exc.message, fields={"url": [exc.message]}) from exc
    except TimeoutError as exc:
        message = "the URL's host did not resolve in time"
        raise ApiError(422, "url_not_resolvable", message, fields={"url": [message]}) from exc
    return url


async def _owned(session, endpoint_id: str, caller: Caller) -> webhooks_repo.Endpoint:
    endpoint = await webhooks_repo.get_endpoint(session, parse_id(endpoint_id, "webhook endpoint"), caller.user_id)
    if endpoint is None:
        raise ApiError(404, "not_found", "no such webhook endpoint")
    return endpoint


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WebhookWithSecret,
    responses={**_ERRORS, 400: {"model": ErrorOut}, 415: {"model": ErrorOut},
               409: {"model": ErrorOut, "description": "`webhook_limit_reached` or `webhook_exists` (this URL is registered already)"},
               422: {"model": ErrorOut, "description": "invalid fields; `url_not_allowed` or `url_not_resolvable` naming `url`"}},
    summary="Register a webhook endpoint (its signing secret is answered this once)",
)
async def create_webhook(
    caller: WebhooksCaller, _json: Annotated[None, Depends(require_json)], body: WebhookIn, session: SessionDep,
    settings: SettingsDep, request: Request,
) -> WebhookWithSecret:
    url = await _checked_url(body.url, settings)
    secret = webhooks.new_secret()
    limit = settings.pre_inference_webhook_max_endpoints
    try:
        endpoint = await webhooks_repo.create_endpoint(
            session, user_id=caller.user_id, url=url, description=body.description,
            secret_encrypted=request.app.state.webhook_secrets.encrypt(secret), limit=limit,
        )
    except webhooks_repo.EndpointLimitReached as exc:
        raise ApiError(409, "webhook_limit_reached", f"an account may register at most {limit} webhook endpoints; delete one first") from exc
    except webhooks_repo.EndpointExists as exc:
        raise ApiError(409, "webhook_exists", "this URL is registered already", fields={"url": ["already registered"]}) from exc
    return _with_secret(endpoint, secret)


@router.get("", response_model=WebhookList, responses=_ERRORS, summary="List my webhook endpoints")
async def list_webhooks(caller: WebhooksCaller, session: SessionDep, settings: SettingsDep) -> WebhookList:
    endpoints = await webhooks_repo.list_endpoints(session, caller.user_id)
    return WebhookList(items=[_out(e) for e in endpoints], limit=settings.pre_inference_webhook_max_endpoints)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**_ERRORS, **_404},
               summary="Remove a webhook endpoint and its delivery log")
async def delete_webhook(endpoint_id: str, caller: WebhooksCaller, session: SessionDep) -> Response:
    if not await webhooks_repo.delete_endpoint(session, parse_id(endpoint_id, "webhook endpoint"), caller.user_id):
        raise ApiError(404, "not_found", "no such webhook endpoint")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{endpoint_id}/rotate-secret", response_model=WebhookWithSecret, responses={**_ERRORS, **_404},
             summary="Replace the signing secret (the new one is answered this once; the old one stops at once)")
async def rotate_webhook_secret(endpoint_id: str, caller: WebhooksCaller, session: SessionDep, request: Request) -> WebhookWithSecret:
    secret = webhooks.new_secret()
    endpoint = await webhooks_repo.rotate_secret(
        session, parse_id(endpoint_id, "webhook endpoint"), caller.user_id, request.app.state.webhook_secrets.encrypt(secret))
    if endpoint is None:
        raise ApiError(404, "not_found", "no such webhook endpoint")
    return _with_secret(endpoint, secret)


@router.post("/{endpoint_id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut,
             responses={**_ERRORS, **_404, 409: {"model": ErrorOut, "description": "`webhook_disabled`"}},
             summary="Send a `ping` event (queued; follow it in the delivery log)")
async def test_webhook(endpoint_id: str, caller: WebhooksCaller, session: SessionDep) -> DeliveryOut:
    endpoint = await _owned(session, endpoint_id, caller)
    await session.rollback()  # the read's transaction; the insert has its own
    if endpoint.disabled_at is not None:
        raise ApiError(409, "webhook_disabled", f"this endpoint is disabled ({endpoint.disabled_reason}); register it again")
    return _delivery_out(await webhooks_repo.enqueue_ping(session, endpoint.id, webhooks.PING))


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage, responses={**_ERRORS, **_404, 422: {"model": ErrorOut}},
            summary="An endpoint's delivery log, newest first")
async def list_deliveries(
    endpoint_id: str, caller: WebhooksCaller, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DeliveryPage:
    before = decode_cursor(cursor) if cursor else None
    endpoint = await _owned(session, endpoint_id, caller)
    rows = await webhooks_repo.delivery_log(session, endpoint.id, limit=limit + 1, before=before)
    page, more = rows[:limit], len(rows) > limit
    return DeliveryPage(items=[_delivery_out(d) for d in page],
                        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None)


