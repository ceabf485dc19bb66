"""Forwarding to the upstream services, and the catch-all that decides what a path is.

Request bodies are read here (bounded; they are small and some upstream servers cannot
take chunked uploads). Responses are streamed so Server-Sent Events and downloads pass
through as the upstream produces them; only short answers of known length are relayed whole.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import unquote_plus

import aiohttp
from atelier_kit import tracing
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.routing import Route as StarletteRoute

from ... import deps
from ...errors import ApiError
from ...headers import filter_request_headers, filter_response_headers, rewrite_location
from ...routing import Route, is_public_path
from ...streams import StreamLease
from ...upstream_errors import answer_upstream_failure, needs_review, plain_service_name
from ...upstream import Limits, UpstreamTimeout, UpstreamUnavailable, response_headers, send
from . import spa

logger = logging.getLogger("gateway.proxy")

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_BODYLESS = {"GET", "HEAD", "OPTIONS"}
API_PREFIXES = ("/api/", "/admin/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in ("/api", "/admin")


async def read_body_limited(request: Request, limit: int) -> bytes:
    too_large = ApiError(413, "payload_too_large", f"the request body is larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    # isascii: "²".isdigit() is True, and int() would raise on it.
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    # Counted as it arrives: Content-Length may be absent (chunked) or a lie.
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


def upstream_url(route: Route, request: Request, *, strip_token: bool = False) -> str:
    # raw_path keeps the client's exact encoding; the decoded path could change meaning (%2F).
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"").decode("latin-1")
    if strip_token and query:
        # The token now travels in the Authorization header (an API key never travels at all).
        # Dropped piece by piece, the rest kept byte for byte (re-encoding would alter odd escapes).
        query = "&".join(p for p in query.split("&") if unquote_plus(p.split("=", 1)[0]) != "access_token")
    url = route.upstream + path.decode("latin-1")
    return url + ("?" + query if query else "")


async def _relay(upstream: aiohttp.ClientResponse, route: Route, lease: StreamLease | None) -> AsyncIterator[bytes]:
    finished = False
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
            if lease is not None:
                await lease.renew_if_due()
        finished = True
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
        logger.info("upstream %s went silent for longer than the idle limit; closing the stream", route.service)
    except aiohttp.ClientError as exc:
        # Headers are already sent; all we can do is end the body early and say why in the log.
        logger.warning("upstream stream broke off: %r", exc)
    finally:
        # A stream left unfinished (client gone, idle limit) must not go back to the pool half-read.
        upstream.release() if finished else upstream.close()
        if lease is not None:
            await lease.release()


def _limits(request: Request, route: Route) -> Limits:
    settings = deps.settings(request)
    connect = settings.gateway_upstream_connect_timeout_s
    if route.is_sse(request.url.path):
        # No limit on the stream's length; a stream silent for longer than a few keepalive
        # intervals (15 s each) is dead, and its connection is given back.
        return Limits(connect_s=connect, read_s=settings.gateway_sse_idle_s, pool_s=connect)
    return Limits(connect_s=connect, read_s=route.timeout_s, pool_s=route.timeout_s)


SMALL_BODY_BYTES = 64 * 1024


def _small_and_complete(upstream: aiohttp.ClientResponse, route: Route, path: str) -> bool:
    length = upstream.headers.get("content-length", "")
    return (length.isascii() and length.isdigit() and int(length) <= SMALL_BODY_BYTES and not route.is_sse(path)
            and "text/event-stream" not in upstream.headers.get("content-type", ""))


async def forward(request: Request, route: Route, credentials: deps.Credentials,
                  extra_headers: dict[str, str] | None = None, lease: StreamLease | None = None) -> Response:
    """Forward and answer. An event stream's `lease` is released when the stream ends, or here
    at once when no stream comes of it."""
    try:
        response = await _forward(request, route, credentials, extra_headers, lease)
    except BaseException:
        if lease is not None:
            await lease.release()
        raise
    if lease is not None and not isinstance(response, StreamingResponse):
        await lease.release()
    return response


async def _forward(request: Request, route: Route, credentials: deps.Credentials,
                   extra_headers: dict[str, str] | None, lease: StreamLease | None) -> Response:
    body = await read_body_limited(request, route.max_body_bytes)
    headers = filter_request_headers(
        request.headers.items(),
        request_id=request.state.request_id,
        client_ip=request.state.client_address,
        scheme=getattr(request.state, "scheme", request.url.scheme),
        host=request.headers.get("host"),
        authorization=credentials.forward_authorization,
        trace=tracing.trace_headers(),
    )
    metrics = request.app.state.metrics
    started = time.perf_counter()
    try:
        # Event streams have a pool of their own: they can never use up what ordinary requests need.
        session = request.app.state.upstream_streams if route.is_sse(request.url.path) else request.app.state.upstream
        upstream = await send(
            session, request.method,
            upstream_url(route, request, strip_token=credentials.strip_query_token), headers,
            None if (not body and request.method in _BODYLESS) else body, _limits(request, route),
        )
    except UpstreamTimeout as exc:
        metrics.observe_upstream(route.name, "timeout", started)
        logger.warning("upstream %s timed out: %s", route.service, exc)
        raise ApiError(504, "upstream_timeout", f"{plain_service_name(route.service)} did not answer in time; try again shortly") from exc
    except UpstreamUnavailable as exc:
        metrics.observe_upstream(route.name, "unavailable", started)
        logger.warning("upstream %s unavailable: %s", route.service, exc)
        raise ApiError(502, "upstream_unavailable", f"{plain_service_name(route.service)} cannot be reached; try again shortly") from exc
    metrics.observe_upstream(route.name, str(upstream.status), started)

    if needs_review(upstream.status, upstream.headers.get("content-type", ""), request.url.path):
        return await answer_upstream_failure(upstream, route.service, request.state.request_id)
    if _small_and_complete(upstream, route, request.url.path):
        # A short answer of known length: read it whole. Streaming it would cost a task group
        # and a disconnect watcher per request for no gain (nothing arrives late).
        try:
            content = await upstream.read()  # raw: the session never decompresses
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            upstream.close()
            raise ApiError(502, "upstream_unavailable", f"{plain_service_name(route.service)} cannot be reached; try again shortly") from exc
        upstream.release()
        response: Response = Response(content, status_code=upstream.status)
    else:
        response = StreamingResponse(_relay(upstream, route, lease), status_code=upstream.status)
    # Set raw: repeated headers (Set-Cookie) must survive, and Content-Length/Encoding stay as sent
    # because the body is passed through undecoded.
    response.raw_headers = [
        (name.lower().encode("latin-1"),
         (rewrite_location(value, route.upstream) if name.lower() == "location" else value).encode("latin-1"))
        for name, value in filter_response_headers(response_headers(upstream))
    ]
    for name, value in (extra_headers or {}).items():
        response.raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return response


async def dispatch(request: Request) -> Response:
    path = request.url.path
    if not is_public_path(path):
        # Never a service's /internal/ route, and never the SPA pretending one exists.
        raise ApiError(404, "not_found", f"no route at {path}")
    route = deps.routing_table(request).match(path)
    if route is not None:
        limit_headers = await request.app.state.rate_limiter.check(request.method, path, request.state.client_address)
        is_stream = route.is_sse(path)
        credentials = await deps.resolve_credentials(request, query_token_allowed=is_stream)
        if route.requires_token:
            identity = await deps.require_identity(request, credentials)
        else:
            identity = await deps.optional_identity(request, credentials)
        if is_stream and identity is not None:
            lease = await request.app.state.stream_slots.acquire(identity)
            return await forward(request, route, credentials, limit_headers, lease)
        async with request.app.state.in_flight.hold(identity.user_id if identity else None):
            return await forward(request, route, credentials, limit_headers)
    if is_api_path(path):
        raise ApiError(404, "not_found", f"no API route at {request.url.path}")
    if request.method in ("GET", "HEAD"):
        return spa.serve_page(request)
    raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed here", headers={"Allow": "GET, HEAD"})


# A plain Starlette route, not a FastAPI one: the catch-all takes no parameters to validate, and
# skipping FastAPI's dependency and validation machinery is a measurable share of what the
# gateway adds to every proxied request (bench/gateway_overhead.py).
CATCH_ALL = StarletteRoute("/{path:path}", dispatch, methods=METHODS, include_in_schema=False)
