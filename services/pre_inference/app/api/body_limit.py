"""Refuses request bodies over a size limit with 413 in the common error shape.

(FastAPI's own max_body_size answers in plain text.) A declared Content-Length is checked
before the app runs; the stream is counted too, so a missing or lying length cannot get
past it.
"""
from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from app.api.errors import error_response


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"the request body is over {self.max_bytes} bytes"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            status = 400 if not declared.isdigit() else 413
            code = "bad_request" if status == 400 else "payload_too_large"
            message = "Content-Length is not a number" if status == 400 else self._message()
            await error_response(status, code, message)(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI re-raises HTTPException from body reading; the app's handler
                    # turns it into the error shape.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counting_receive, send)
