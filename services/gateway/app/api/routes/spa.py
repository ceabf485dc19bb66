"""The single-page app: hashed assets cached forever, every other page answered by
index.html (never cached, so a deploy is picked up on the next load)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ... import deps
from ...errors import ApiError

router = APIRouter()

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
ROOT_FILE_CACHE = "public, max-age=3600"

_MISSING_BUILD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Atelier: web app not built</title></head>
<body><main><h1>The web app has not been built yet</h1>
<p>The gateway is running, but it found no <code>index.html</code> in <code>{dist}</code>.</p>
<p>Run <code>make web</code> at the repository root (or <code>cd web_client &amp;&amp; npm ci &amp;&amp; npm run build</code>),
then reload this page. The API under <code>/api/</code> works meanwhile.</p></main></body></html>
"""


def _inside(root: Path, relative: str) -> Path | None:
    """The file under root named by relative, or None when it is missing or escapes root."""
    if not relative or "\x00" in relative:
        return None
    try:
        candidate = (root / relative).resolve()
        # is_file() inside the try: a name too long for the filesystem raises OSError (ENAMETOOLONG).
        if root.resolve() not in candidate.parents or not candidate.is_file():
            return None
    except (OSError, ValueError):
        return None
    return candidate


@router.get("/assets/{name:path}", include_in_schema=False)
async def asset(request: Request, name: str) -> Response:
    dist = deps.settings(request).atelier_web_dist
    found = _inside(dist / "assets", name)
    if found is None:
        raise ApiError(404, "not_found", "no such asset")
    return FileResponse(found, headers={"Cache-Control": IMMUTABLE})


def serve_page(request: Request) -> Response:
    dist = deps.settings(request).atelier_web_dist
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(_MISSING_BUILD.format(dist=dist), status_code=503, headers={"Cache-Control": NO_CACHE})
    # Files Vite copies from public/ (favicon, robots.txt) sit next to index.html.
    top_level = request.url.path.lstrip("/")
    if top_level and "/" not in top_level and top_level != "index.html":
        found = _inside(dist, top_level)
        if found is not None:
            return FileResponse(found, headers={"Cache-Control": ROOT_FILE_CACHE})
    return FileResponse(index, media_type="text/html; charset=utf-8", headers={"Cache-Control": NO_CACHE})
