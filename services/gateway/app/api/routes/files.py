"""Stored objects by signed, expiring URL (signed by pre_inference, verified here)."""
from __future__ import annotations

import time

from atelier_storage import FilesystemStorage, InvalidKey, SignatureError, verify_signature
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from ... import deps
from ...errors import ApiError

router = APIRouter()

# A stored object is only ever shown, never run: even a mislabelled file cannot script the site.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
SAFE_TYPES = ("image/", "video/", "audio/", "application/json", "text/plain")


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def get_file(request: Request, key: str) -> Response:
    settings = deps.settings(request)
    exp = request.query_params.get("exp")
    sig = request.query_params.get("sig")
    try:
        verify_signature(settings.atelier_storage_signing_key, key, exp, sig)
    except SignatureError as exc:
        raise ApiError(403, exc.code, str(exc)) from exc

    storage: FilesystemStorage = request.app.state.storage
    try:
        path = storage.path_for(key)
        found = path.is_file()
    except (InvalidKey, ValueError, OSError) as exc:  # ValueError: a NUL byte in the path
        raise ApiError(404, "not_found", "no such file") from exc
    if not found:
        raise ApiError(404, "not_found", "no such file")

    content_type = str(storage.read_meta(key).get("content_type") or "application/octet-stream")
    if not content_type.startswith(SAFE_TYPES):
        content_type = "application/octet-stream"
    # The browser may keep it until the link expires, never longer than the configured bound.
    max_age = max(0, min(settings.atelier_files_max_age_s, int(exp or 0) - int(time.time())))
    return FileResponse(path, media_type=content_type, headers={
        "Cache-Control": f"private, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    })
