"""The client for forwarded requests: aiohttp, one pooled session per process.

The hot path uses aiohttp rather than httpx because httpx (httpcore over anyio) cost 1-7 ms per
request on a loaded two-core machine against 0.2 ms for aiohttp (bench/gateway_overhead.py);
httpx stays for the gateway's own occasional calls (readiness, introspection, OpenAPI).
The session never decompresses (bodies pass through as sent), never follows redirects and
never keeps cookies: it is shared by every user.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from yarl import URL

# aiohttp adds these unless told not to; the client's own, if it sent them, are forwarded.
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Content-Type")


class UpstreamTimeout(Exception):
    pass


class UpstreamUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    connect_s: float  # new TCP connection
    read_s: float  # longest silence between upstream bytes
    pool_s: float  # waiting for a free pooled connection


class _Response(aiohttp.ClientResponse):
    """Never lets a connection that carried a 5xx go back to the pool (finding 6).

    A server that just failed may close the connection or leave bytes on it, and the next caller
    (another user, a POST that cannot be resent) would inherit it. When the whole body arrived with
    the headers, aiohttp has already pooled the connection by the time start() returns; nothing
    can have taken it since (no await in between), so closing it there is safe."""

    async def start(self, connection):
        response = await super().start(connection)
        if self.status >= 500:
            attached = self._connection
            protocol = attached.protocol if attached is not None else self._protocol
            if attached is not None and protocol is not None:
                protocol.force_close()  # closed instead of pooled when released
            elif protocol is not None:
                protocol.close()  # already idle in the pool: the pool discards closed connections
        return response


def make_session(max_connections: int, *, keepalive_s: float = 4.0) -> aiohttp.ClientSession:
    """A pool of at most `max_connections`. Idle connections are dropped after `keepalive_s`, which
    must stay below the upstreams' own keep-alive (uvicorn: 5 s): otherwise the upstream closes an
    idle connection just as we send on it, and a POST cannot be retried safely."""
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0, keepalive_timeout=keepalive_s,
                                     enable_cleanup_closed=False, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector, response_class=_Response, auto_decompress=False, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=_SKIP_AUTO_HEADERS, timeout=aiohttp.ClientTimeout(total=None),
    )


async def send(session: aiohttp.ClientSession, method: str, url: str, headers: list[tuple[str, str]],
               body: bytes | None, limits: Limits) -> aiohttp.ClientResponse:
    """Send and return the response with its body unread; the caller must release() or close() it.

    An idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) that fails on a pooled connection the
    upstream had already closed (ServerDisconnectedError / ClientOSError before any response byte)
    is sent once more on a fresh connection by aiohttp itself (RFC 9112 section 9.3.1.1; on by
    default since aiohttp 3.10, tested in test_upstream_connections_integration). Other methods
    are never resent: the upstream may have acted on them."""
    timeout = aiohttp.ClientTimeout(total=None, connect=limits.pool_s + limits.connect_s,
                                    sock_connect=limits.connect_s, sock_read=limits.read_s)
    try:
        # encoded=True: the path goes out byte for byte as the client sent it (%2F stays %2F).
        return await session.request(method, URL(url, encoded=True), headers=headers, data=body,
                                     allow_redirects=False, timeout=timeout, compress=False)
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeout(repr(exc)) from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(repr(exc)) from exc


def response_headers(response: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
