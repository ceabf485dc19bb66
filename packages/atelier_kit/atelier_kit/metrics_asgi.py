"""The FastAPI/Starlette face of ``atelier_kit.metrics``: a pure-ASGI middleware (so
streamed bodies pass untouched) that times each request and labels it with the route
template the router matched."""
from __future__ import annotations

import time
from typing import Any

from atelier_kit.metrics import observe_request


def route_template(scope: dict[str, Any]) -> str | None:
    # FastAPI's router stores the matched route in the (shared) scope; its path is the
    # template with the include prefix, e.g. /api/v1/jobs/{job_id}. Unmatched: no route.
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None)


class HttpMetricsMiddleware:
    def __init__(self, app: Any, *, service: str):
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            # An exception escaping here becomes a 500 further out; count it as one.
            observe_request(self.service, route_template(scope), scope.get("method"), status["code"],
                            time.perf_counter() - started)
