"""Traces through a real gateway (uvicorn on loopback) to the upstream stub: the gateway, the
public edge, starts its own trace (linking the caller's, never adopting it) and forwards its
own span as traceparent."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from atelier_kit import tracing

from .servers import decode_echo

pytestmark = pytest.mark.integration

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


async def server_span(exporter):
    """The gateway's span ends just after the response is sent (in the server's thread)."""
    for _ in range(100):
        found = [span for span in exporter.get_finished_spans() if span.kind.name == "SERVER"]
        if found:
            (span,) = found
            return span
        await asyncio.sleep(0.02)
    raise AssertionError("the gateway made no server span")


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


async def test_the_edge_links_the_callers_trace_and_never_adopts_it(client):
    with tracing.recording("gateway") as exporter:
        response = await client.post("/api/auth/signup", content=b"{}",
                                     headers={"Content-Type": "application/json", "traceparent": CALLER})
        server = await server_span(exporter)
    assert response.status_code == 201
    forwarded = decode_echo(response)["header_map"]["traceparent"]
    # A caller must not pick our trace ids (or switch sampling off with its flags): a new root,
    # linked to the caller's span so the two traces can still be joined.
    assert server.context.trace_id != int(CALLER_TRACE, 16) and server.parent is None
    assert [(link.context.trace_id, link.context.span_id) for link in server.links] == [
        (int(CALLER_TRACE, 16), int("00f067aa0ba902b7", 16))]
    # The upstream's parent is the gateway's span: one hop per span.
    assert forwarded == f"00-{server.context.trace_id:032x}-{server.context.span_id:016x}-{int(server.context.trace_flags):02x}"
    assert server.attributes["http.response.status_code"] == 201
    assert server.name == "POST api_auth", "named by the gateway's route, not its catch-all path"


async def test_without_a_traceparent_the_gateway_starts_a_trace(client):
    with tracing.recording("gateway") as exporter:
        response = await client.get("/api/auth/me")
        server = await server_span(exporter)
    forwarded = decode_echo(response)["header_map"].get("traceparent")
    assert forwarded is not None and forwarded.split("-")[1] == f"{server.context.trace_id:032x}"


async def test_tracing_off_adds_no_header_and_makes_no_spans(client):
    assert not tracing.enabled()
    response = await client.get("/api/auth/me", headers={"traceparent": CALLER})
    headers = decode_echo(response)["header_map"]
    # Off, the gateway is transparent: the caller's header passes as any other would.
    assert headers.get("traceparent") == CALLER
