"""Liveness, readiness and Prometheus metrics (not under /api: the orchestrator and the
scraper call them, never the public)."""
from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from atelier_kit.metrics import exposition, is_internal_address

from app.adapters.db import ping
from app.api import metrics as _metrics  # noqa: F401 - registers the API's metrics
from app.api.errors import error_response

router = APIRouter(tags=["health"])
log = logging.getLogger("pre_inference.health")
READY_TIMEOUT_S = 3.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable")
async def readyz(request: Request) -> JSONResponse:
    try:
        await asyncio.wait_for(ping(request.app.state.engine), READY_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with the reason logged
        log.warning("not ready: %r", exc)
        return error_response(503, "not_ready", "the database is not reachable")
    return JSONResponse({"status": "ok", "checks": {"database": "ok"}})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    # Loopback port, but the gateway is on loopback too: what it forwards carries
    # X-Forwarded-For and is refused like an outside request (it routes no /metrics anyway).
    client = request.client.host if request.client else None
    if not is_internal_address(client) or "x-forwarded-for" in request.headers:
        return error_response(404, "not_found", "no such page")
    job_gauges = request.app.state.job_gauges
    try:
        await asyncio.wait_for(job_gauges.refresh(), READY_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - the other metrics still matter when the database is away
        log.warning("job gauges not refreshed: %r", exc)
    body, content_type = exposition(request.app.state.metrics_registry)
    return Response(body, media_type=content_type)
