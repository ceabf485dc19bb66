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


def make_session(max_connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0, keepalive_timeout=30.0,
                                     enable_cleanup_closed=False, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector, auto_decompress=False, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=_SKIP_AUTO_HEADERS, timeout=aiohttp.ClientTimeout(total=None),
    )


async def send(session: aiohttp.ClientSession, method: str, url: str, headers: list[tuple[str, str]],
               body: bytes | None, limits: Limits) -> aiohttp.ClientResponse:
    """Send and return the response with its body unread; the caller must release() or close() it."""
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
