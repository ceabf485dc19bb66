"""The aggregated API reference: the merged OpenAPI document and a page that renders it.

The page is static HTML plus one script served from here: the gateway's CSP allows scripts
from 'self' only, and the docs must work offline, so nothing comes from a CDN.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from ... import deps
from ...openapi import AggregatedDocument, own_document

router = APIRouter()
STATIC = Path(__file__).resolve().parents[2] / "static"
PATHS = ("/api/openapi.json", "/api/docs", "/api/docs/", "/api/docs/docs.js", "/api/docs/docs.css")


def _document(request: Request) -> AggregatedDocument:
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        settings = deps.settings(request)
        state.openapi = AggregatedDocument(settings, settings.gateway_openapi_cache_s, own_document(request.app.routes))
    return state.openapi


@router.get("/api/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    document = await _document(request).get(deps.upstream_client(request))
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=30"})


@router.get("/api/docs", include_in_schema=False)
@router.get("/api/docs/", include_in_schema=False)
async def docs_page() -> FileResponse:
    return FileResponse(STATIC / "docs.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/api/docs/docs.js", include_in_schema=False)
async def docs_script() -> FileResponse:
    return FileResponse(STATIC / "docs.js", media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/api/docs/docs.css", include_in_schema=False)
async def docs_style() -> FileResponse:
    return FileResponse(STATIC / "docs.css", media_type="text/css; charset=utf-8", headers={"Cache-Control": "no-cache"})
