"""Stored objects by signed, expiring URL (signed by pre_inference, verified here)."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator

from atelier_storage import (InvalidKey, ObjectNotFound, SignatureError, Storage, StorageError, StoredObject,
                             verify_signature)
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

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

    # Whichever backend ATELIER_STORAGE_BACKEND chose (filesystem or S3): opened, then streamed.
    storage: Storage = request.app.state.storage
    try:
        stored = await run_in_threadpool(storage.open_object, key)
    except StorageError as exc:  # the store is away (an OSError too, so before the next clause)
        raise ApiError(503, "storage_unavailable", "stored files are unavailable; try again shortly",
                       headers={"Retry-After": "5"}) from exc
    except (InvalidKey, ObjectNotFound, ValueError, OSError) as exc:  # ValueError: a NUL byte in the path
        raise ApiError(404, "not_found", "no such file") from exc

    content_type = stored.content_type
    if not content_type.startswith(SAFE_TYPES):
        content_type = "application/octet-stream"
    # The browser may keep it until the link expires, never longer than the configured bound.
    max_age = max(0, min(settings.atelier_files_max_age_s, int(exp or 0) - int(time.time())))
    headers = {
        "Cache-Control": f"private, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    }
    if stored.size is not None:
        headers["Content-Length"] = str(stored.size)
    if request.method == "HEAD":
        stored.close()
        return Response(media_type=content_type, headers=headers)
    return StreamingResponse(_stream(stored), media_type=content_type, headers=headers)


async def _stream(stored: StoredObject) -> AsyncIterator[bytes]:
    """Blocking reads run in a thread; the object is closed even when the client leaves early."""
    try:
        async for chunk in iterate_in_threadpool(stored.chunks()):
            yield chunk
    finally:
        stored.close()
