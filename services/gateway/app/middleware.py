"""One pure-ASGI middleware for what every response needs: a request id, security headers,
metrics and a JSON access-log line. Pure ASGI (not BaseHTTPMiddleware) so streamed bodies
pass through untouched."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from atelier_kit.addresses import Networks, forwarded_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import internal_error_body
from .headers import REQUEST_ID_HEADER, SECURITY_HEADERS, accept_request_id

logger = logging.getLogger("gateway.access")


class Metrics:
    def __init__(self) -> None:
        # A registry per app keeps tests (many apps per process) from colliding.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests_total", "Requests answered by the gateway", ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time to the response headers (streams are not timed to their end)", ["route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "gateway_upstream_duration_seconds",
            "Time from sending to an upstream until its response headers", ["route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "gateway_requests_in_flight", "Requests being answered now (open streams included)",
            registry=self.registry, multiprocess_mode="livesum",  # several workers: their sum, live ones only
        )

    def observe_upstream(self, route: str, status: str, started: float) -> None:
        self.upstream_latency.labels(route, status).observe(time.perf_counter() - started)


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, route_label: Callable[[str], str],
                 trusted_proxies: Networks | None = None, hsts_max_age_s: int = 0, hsts_always: bool = False):
        self.app = app
        # HSTS only over https: sent over plain HTTP it is ignored by browsers at best, and it
        # would pin a development host to https at worst.
        self.hsts = f"max-age={hsts_max_age_s}; includeSubDomains" if hsts_max_age_s > 0 else None
        self.hsts_always = hsts_always
        self.metrics = metrics
        self.route_label = route_label
        self.trusted = trusted_proxies or Networks([])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", []))
        request_id = accept_request_id(incoming.get(REQUEST_ID_HEADER))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        peer = scope.get("client")
        state["client_address"] = forwarded_client(peer[0] if peer else None, incoming.get("x-forwarded-for"), self.trusted)
        route = self.route_label(scope.get("path", ""))
        added = [(REQUEST_ID_HEADER, request_id), *SECURITY_HEADERS]
        over_https = self._came_over_https(scope, incoming)
        # What the services are told in X-Forwarded-Proto (auth builds its secure cookies from it).
        state["scheme"] = "https" if over_https else scope.get("scheme", "http")
        if self.hsts and (self.hsts_always or over_https):
            added.append(("strict-transport-security", self.hsts))
        status_holder = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in added:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
                self._observe(route, scope["method"], message["status"], started)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if status_holder["started"]:
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope.get("path"))
            body = json.dumps(internal_error_body(request_id)).encode()
            await send_wrapper({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.in_flight.dec()
            logger.info(json.dumps({
                "event": "request", "request_id": request_id, "method": scope["method"],
                "path": scope.get("path"), "route": route, "status": status_holder["status"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }))

    def _came_over_https(self, scope: Scope, incoming: dict[str, str]) -> bool:
        if scope.get("scheme") == "https":
            return True
        # A TLS terminator in front says so in X-Forwarded-Proto; only a trusted one is believed.
        peer = scope.get("client")
        forwarded = incoming.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return forwarded == "https" and bool(peer) and bool(self.trusted.networks) and peer[0] in self.trusted

    def _observe(self, route: str, method: str, status: int, started: float) -> None:
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route, str(status)).observe(time.perf_counter() - started)
