"""Liveness, readiness and Prometheus metrics (not under /api: the orchestrator and the
scraper call them, never the public)."""
from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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
async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
