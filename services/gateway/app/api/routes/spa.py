"""The single-page app: hashed assets cached forever, every other page answered by
index.html (never cached, so a deploy is picked up on the next load). The build writes a
Brotli and a gzip copy next to each text file (vite.config.ts); a client that accepts one
gets it as it is, so nothing is compressed per request."""
from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ... import deps
from ...errors import ApiError

router = APIRouter()

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
ROOT_FILE_CACHE = "public, max-age=3600"
# The service worker decides which shell the browser runs: a stale copy would pin an old deploy.
NEVER_STALE_ROOT_FILES = frozenset({"sw.js"})
# Preferred first: Brotli is about a fifth smaller than gzip on the bundle.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))

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


def accepted_encodings(header: str) -> set[str]:
    """The codings an Accept-Encoding header allows; ``q=0`` refuses one, and ``*`` stands for
    any coding the header does not name."""
    allowed: set[str] = set()
    refused: set[str] = set()
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if not name.strip():
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        (allowed if quality > 0 else refused).add(name.strip())
    if "*" in allowed:
        allowed |= {coding for coding, _ in PRECOMPRESSED} - refused
    return allowed - refused


def _send(request: Request, path: Path, cache_control: str, media_type: str | None = None) -> FileResponse:
    """The file, or its precompressed copy when the client accepts that coding."""
    media_type = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    accepted = accepted_encodings(request.headers.get("accept-encoding", ""))
    for coding, suffix in PRECOMPRESSED:
        variant = path.with_name(path.name + suffix)
        if coding in accepted and variant.is_file():
            return FileResponse(variant, media_type=media_type, headers={**headers, "Content-Encoding": coding})
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/assets/{name:path}", include_in_schema=False)
async def asset(request: Request, name: str) -> Response:
    dist = deps.settings(request).atelier_web_dist
    found = _inside(dist / "assets", name)
    if found is None:
        raise ApiError(404, "not_found", "no such asset")
    return _send(request, found, IMMUTABLE)


def serve_page(request: Request) -> Response:
    dist = deps.settings(request).atelier_web_dist
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(_MISSING_BUILD.format(dist=dist), status_code=503, headers={"Cache-Control": NO_CACHE})
    # Files Vite copies from public/ (favicon, robots.txt, the service worker) sit next to index.html.
    top_level = request.url.path.lstrip("/")
    if top_level and "/" not in top_level and top_level != "index.html":
        found = _inside(dist, top_level)
        if found is not None:
            return _send(request, found, NO_CACHE if top_level in NEVER_STALE_ROOT_FILES else ROOT_FILE_CACHE)
    return _send(request, index, NO_CACHE, media_type="text/html; charset=utf-8")
