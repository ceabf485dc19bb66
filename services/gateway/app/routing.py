"""The one routing table: which public path prefix goes to which upstream, and on what terms.

Longest prefix wins, so a narrower rule (say, a streaming route with a longer timeout) can
be added next to a broader one without reordering anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .config import Settings

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Route:
    name: str  # metrics label; low cardinality by construction
    prefix: str  # always ends with "/"; the bare prefix without it also matches
    service: str
    upstream: str  # base URL, no trailing slash
    requires_token: bool
    timeout_s: float  # read timeout: the longest silence tolerated between upstream bytes
    max_body_bytes: int
    # Paths under the prefix that are Server-Sent Event streams: no overall read timeout, only
    # an idle limit longer than the upstream's keepalive interval.
    sse_paths: re.Pattern | None = None

    def is_sse(self, path: str) -> bool:
        return self.sse_paths is not None and self.sse_paths.match(path) is not None

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix) or path == self.prefix[:-1]


class RoutingTable:
    def __init__(self, routes: list[Route]):
        for route in routes:
            if not route.prefix.startswith("/") or not route.prefix.endswith("/"):
                raise ValueError(f"route prefix must start and end with '/': {route.prefix!r}")
        self.routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)

    def match(self, path: str) -> Route | None:
        if not is_public_path(path):
            return None
        for route in self.routes:
            if route.matches(path):
                return route
        return None

    def upstreams(self) -> dict[str, str]:
        """Distinct upstream base URLs by a readable name, for readiness checks."""
        found: dict[str, str] = {}
        for route in self.routes:
            found.setdefault(route.service, route.upstream)
        return {name: url for name, url in sorted(found.items())}


def is_public_path(path: str) -> bool:
    """False for what must never reach a service from outside: its /internal/ routes (under any
    prefix) and dot segments, which some upstream could resolve to such a route."""
    segments = path.split("/")
    return not any(s in ("internal", ".", "..") for s in segments) and "\\" not in path


def build_routing_table(settings: Settings) -> RoutingTable:
    auth = settings.auth_url.rstrip("/")
    payments = settings.payments_url.rstrip("/")
    pre_inference = settings.pre_inference_url.rstrip("/")
    return RoutingTable([
        # auth checks its own tokens (signup, token and JWKS are public; /me is not).
        Route("api_auth", "/api/auth/", "auth", auth, requires_token=False, timeout_s=15.0, max_body_bytes=64 * KIB),
        Route("admin_auth", "/admin/auth/", "auth", auth, requires_token=False, timeout_s=30.0, max_body_bytes=2 * MIB),
        # payments has public routes too (plans, provider webhooks) and verifies tokens itself.
        Route("api_payments", "/api/payments/", "payments", payments, requires_token=False, timeout_s=30.0, max_body_bytes=256 * KIB),
        Route("admin_payments", "/admin/payments/", "payments", payments, requires_token=False, timeout_s=30.0, max_body_bytes=2 * MIB),
        # 24 MiB: an img2img job carries an 8 MiB image and its mask as base64 data URLs.
        Route("api_pre_inference", "/api/v1/", "pre_inference", pre_inference, requires_token=True, timeout_s=60.0, max_body_bytes=24 * MIB,
              sse_paths=re.compile(r"^/api/v1/jobs/[^/]+/events/?$")),
        # What each tier allows is public: the front page and pricing show it before sign-up.
        Route("api_pre_inference_tiers", "/api/v1/tiers/", "pre_inference", pre_inference, requires_token=False,
              timeout_s=15.0, max_body_bytes=0),
        # The API description is public, like auth's and payments'.
        Route("api_pre_inference_openapi", "/api/v1/openapi.json/", "pre_inference", pre_inference, requires_token=False,
              timeout_s=15.0, max_body_bytes=0),
    ])
