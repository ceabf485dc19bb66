"""Which headers cross the gateway, in each direction.

Hop-by-hop headers describe one connection (RFC 9110 section 7.6.1) and must not be
forwarded, including any the sender lists in its own Connection header.
"""
from __future__ import annotations

from collections.abc import Iterable

# Which X-Request-ID values are kept is the platform's rule, shared with every service.
from atelier_kit.request_ids import REQUEST_ID_HEADER, accept_request_id

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
# Set again by the gateway (or by httpx from the body it sends), never copied from the client.
REQUEST_OWNED = frozenset({
    "host", "content-length", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
    "forwarded", "x-real-ip",
    # API-key secrets stop at the gateway; the services get the exchanged JWT instead.
    "x-api-key",
})
# W3C trace context: with tracing on, the gateway's own span is what upstreams continue.
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
# The gateway's own server writes these; copies from upstream would be duplicated.
RESPONSE_OWNED = frozenset({"server", "date"})

SECURITY_HEADERS = (
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
)


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def filter_request_headers(
    headers: Iterable[tuple[str, str]], *, request_id: str, client_ip: str | None, scheme: str, host: str | None,
    authorization: str | None = None, trace: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Headers to send upstream: the client's, minus hop-by-hop, plus the gateway's own.
    `authorization` replaces the client's (an API key exchanged for a JWT); `trace` (the
    gateway's span as traceparent/tracestate, when tracing is on) replaces the client's."""
    headers = list(headers)
    dropped = HOP_BY_HOP | REQUEST_OWNED | _connection_tokens(headers)
    if authorization is not None:
        dropped = dropped | {"authorization"}
    if trace:
        dropped = dropped | TRACE_HEADERS
    kept = [(n, v) for n, v in headers if n.lower() not in dropped]
    if not any(n.lower() == "accept-encoding" for n, _ in kept):
        # Otherwise httpx adds its own default and the upstream may compress for a client that cannot decode.
        kept.append(("accept-encoding", "identity"))
    if authorization is not None:
        kept.append(("authorization", authorization))
    kept.append(("x-request-id", request_id))
    if trace:
        kept.extend(trace.items())
    # The gateway is the public edge: a client-supplied X-Forwarded-For is a claim, not a fact.
    if client_ip:
        kept.append(("x-forwarded-for", client_ip))
    kept.append(("x-forwarded-proto", scheme))
    if host:
        kept.append(("x-forwarded-host", host))
    return kept


def filter_response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    headers = list(headers)
    dropped = HOP_BY_HOP | RESPONSE_OWNED | _connection_tokens(headers)
    return [(n, v) for n, v in headers if n.lower() not in dropped]


def rewrite_location(value: str, upstream: str) -> str:
    """An absolute redirect to an internal address would leak it and break the browser; keep the path."""
    if value.startswith(upstream + "/"):
        return value[len(upstream):]
    return value
