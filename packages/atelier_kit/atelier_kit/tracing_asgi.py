"""A SERVER span per HTTP request for the ASGI services (gateway, pre_inference).

Pure ASGI rather than the contrib instrumentation: it is the one thing we need (continue the
caller's ``traceparent``, name the span by route, record the status) and, with tracing off,
it costs one global read per request.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import tracing


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class TracingMiddleware:
    """``route_label(path)``, when given, names the span (the gateway, whose one catch-all
    route would otherwise name every proxied request alike, passes its routing table's).
    ``edge=True`` (the gateway, facing the public): the caller's traceparent is linked, not
    continued, so no caller picks our trace ids or turns sampling off; services behind the
    edge continue the trace they are given."""

    def __init__(self, app: Any, route_label: Callable[[str], str] | None = None, edge: bool = False):
        self.app = app
        self.route_label = route_label
        self.edge = edge

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        attributes = {"http.request.method": method, "url.path": scope.get("path", "")}
        incoming = _header(scope, b"traceparent")
        with tracing.start_span(f"{method} {scope.get('path', '')}", kind="server",
                                traceparent=None if self.edge else incoming,
                                tracestate=None if self.edge else _header(scope, b"tracestate"),
                                link=incoming if self.edge else None, attributes=attributes) as span:

            async def send_recording_status(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        tracing.set_error(span, f"HTTP {status}")
                await send(message)

            try:
                await self.app(scope, receive, send_recording_status)
            finally:
                # The route template is known only once routing ran: name the span by it,
                # so one endpoint is one span name however many ids its paths carry.
                self._name(span, scope, method)

    def _name(self, span: Any, scope: dict[str, Any], method: str) -> None:
        if self.route_label is not None:
            label = self.route_label(scope.get("path", ""))
            span.update_name(f"{method} {label}")
            span.set_attribute("atelier.route", label)
            return
        template = getattr(scope.get("route"), "path", None)
        if template:
            span.update_name(f"{method} {template}")
            span.set_attribute("http.route", template)
