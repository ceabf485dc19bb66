"""Liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import asyncio
import ipaddress
import os

import httpx
from atelier_kit.metrics import exposition
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ... import deps
from ...errors import ApiError

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_upstream(client: httpx.AsyncClient, base_url: str, timeout_s: float) -> str | None:
    """The upstream's own readiness (can it serve: its database, auth's signing key), with
    the reason it gives, so `make up` and an operator see why the platform is not ready."""
    try:
        response = await client.get(f"{base_url}/readyz", timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"unreachable: {type(exc).__name__}"
    if response.status_code == 200:
        return None
    reason = " ".join(response.text.split())[:300]
    return f"answered {response.status_code}: {reason}" if reason else f"answered {response.status_code}"


async def _check_redis(request: Request, timeout_s: float) -> str | None:
    try:
        await asyncio.wait_for(request.app.state.redis.ping(), timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", and says which
        return f"unreachable: {type(exc).__name__}"
    return None


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    settings = deps.settings(request)
    timeout_s = settings.gateway_readiness_timeout_s
    client = deps.upstream_client(request)
    upstreams = deps.routing_table(request).upstreams()
    names = [*upstreams, "redis"]
    results = await asyncio.gather(
        *(_check_upstream(client, url, timeout_s) for url in upstreams.values()),
        _check_redis(request, timeout_s),
    )
    checks = {name: problem or "ok" for name, problem in zip(names, results)}
    down = [name for name, problem in zip(names, results) if problem]
    status = 503 if down else 200
    return JSONResponse({"status": "unavailable" if down else "ready", "down": down, "checks": checks},
                        status_code=status, headers={"Cache-Control": "no-store"})


def _is_internal(host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    # The gateway is public; scrapers sit on the private network, visitors do not need our figures.
    if not _is_internal(request.state.client_address):
        raise ApiError(404, "not_found", "no such page")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several worker processes (atelier_kit.asgi_workers): every worker's files, added up.
        body, content_type = exposition()
        return Response(body, media_type=content_type)
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
