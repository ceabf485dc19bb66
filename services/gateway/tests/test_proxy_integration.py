"""Through a real gateway (uvicorn on loopback) to a real upstream stub and JWKS endpoint."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from atelier_identity import TokenVerifier

from app.routing import Route, RoutingTable, build_routing_table

from .conftest import Signer
from .servers import dead_url, decode_echo

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_path_query_body_and_headers_are_forwarded(client):
    response = await client.post(
        "/api/auth/signup?next=%2Fhome&a=1&a=2", content=b'{"email": "x@example.com"}',
        headers={"Content-Type": "application/json", "X-Custom": "kept", "X-Request-ID": "req-42",
                 "Connection": "keep-alive, X-Hop", "X-Hop": "dropped", "X-Forwarded-For": "6.6.6.6"},
    )
    assert response.status_code == 201
    echo = decode_echo(response)
    assert echo["method"] == "POST"
    assert echo["raw_path"] == "/api/auth/signup" and echo["query"] == "next=%2Fhome&a=1&a=2"
    assert echo["body"] == b'{"email": "x@example.com"}'
    headers = echo["header_map"]
    assert headers["x-custom"] == "kept" and headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req-42" and response.headers["x-request-id"] == "req-42"
    assert headers["x-forwarded-for"] == "127.0.0.1" and headers["x-forwarded-proto"] == "http"
    assert "x-hop" not in headers
    assert headers["content-length"] == str(len(echo["body"]))


async def test_request_id_is_generated_when_absent_and_returned(client):
    response = await client.get("/api/auth/me")
    sent = decode_echo(response)["header_map"]["x-request-id"]
    assert len(sent) >= 16 and response.headers["x-request-id"] == sent


async def test_repeated_response_headers_survive_and_internal_redirects_are_rewritten(client):
    cookies = await client.get("/api/auth/cookies")
    assert len(cookies.headers.get_list("set-cookie")) == 2
    redirect = await client.get("/api/auth/redirect", follow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "/admin/auth/login/?next=/admin/auth/"


async def test_server_sent_events_arrive_before_the_upstream_finishes(client, upstream, signer):
    async with client.stream("GET", "/api/v1/jobs/j1/events", headers=bearer(signer.token())) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(chunks.__anext__(), timeout=5)
        assert b"event: progress" in first
        assert not upstream.stream_finished.is_set(), "the gateway buffered the stream"
        upstream.release_stream.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert b"event: done" in rest


async def test_token_required_routes_refuse_missing_expired_and_forged_tokens(client, signer):
    missing = await client.get("/api/v1/jobs")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "not_authenticated"
    assert missing.headers["www-authenticate"].startswith("Bearer")

    expired = await client.get("/api/v1/jobs", headers=bearer(signer.token(expires_in=-60)))
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "token_expired"

    forger = Signer(kid=signer.kid)  # claims the real kid, signed with another key
    forged = await client.get("/api/v1/jobs", headers=bearer(forger.token()))
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "token_invalid"

    garbage = await client.get("/api/v1/jobs", headers=bearer("not-a-jwt"))
    assert garbage.status_code == 401 and garbage.json()["error"]["code"] == "token_invalid"

    valid = await client.get("/api/v1/jobs", headers=bearer(signer.token()))
    assert valid.status_code == 200 and decode_echo(valid)["header_map"]["authorization"].startswith("Bearer ")


async def test_unknown_kid_triggers_a_jwks_refresh(client, upstream, signer, monkeypatch):
    rotated = Signer()
    monkeypatch.setattr(upstream, "jwks", {"keys": [signer.jwk(), rotated.jwk()]})
    before = upstream.jwks_fetches
    response = await client.get("/api/v1/jobs", headers=bearer(rotated.token()))
    assert response.status_code == 200
    assert upstream.jwks_fetches == before + 1


async def test_auth_down_while_keys_are_unknown_is_503(client, signer, swap_state):
    swap_state("verifier", TokenVerifier(f"{dead_url()}/jwks.json", min_refresh_interval_s=0))
    response = await client.get("/api/v1/jobs", headers=bearer(signer.token()))
    assert response.status_code == 503 and response.json()["error"]["code"] == "auth_unavailable"


async def test_body_over_the_route_limit_is_413_even_without_content_length(client, signer):
    async def chunked(total: int, size: int = 64 * 1024):
        sent = 0
        while sent < total:
            yield b"x" * min(size, total - sent)
            sent += size

    too_big = await client.post("/api/auth/signup", content=chunked(64 * 1024 + 1))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    fits = await client.post("/api/auth/signup", content=chunked(64 * 1024))
    assert fits.status_code == 201 and len(decode_echo(fits)["body"]) == 64 * 1024
    job_too_big = await client.post("/api/v1/jobs", content=chunked(24 * 1024 * 1024 + 1, 1024 * 1024),
                                    headers=bearer(signer.token()))
    assert job_too_big.status_code == 413


async def test_upstream_down_is_502(client, gateway, swap_state):
    settings = gateway.state.settings.model_copy(update={"auth_url": dead_url()})
    swap_state("routing_table", build_routing_table(settings))
    response = await client.get("/api/auth/me")
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_unavailable"


async def test_upstream_timeout_is_504(client, upstream, signer, swap_state):
    fast = Route("api_pre_inference", "/api/v1/", "pre_inference", upstream.url, True, 0.5, 1024)
    swap_state("routing_table", RoutingTable([fast]))
    started = time.monotonic()
    response = await client.get("/api/v1/slow", headers=bearer(signer.token()))
    assert response.status_code == 504 and response.json()["error"]["code"] == "upstream_timeout"
    assert time.monotonic() - started < 2.5


async def test_unknown_api_paths_are_json_404(client):
    for path in ("/api/nope", "/api", "/admin/other/"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
