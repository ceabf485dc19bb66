"""Edge policies through a real gateway: internal routes unreachable, per-address limits in the
real Redis, CORS, event-stream idle limits, upstream metrics and the merged API reference."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from .conftest import gateway_settings
from .servers import ServerThread

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.fixture(scope="module")
def strict_gateway(upstream, provisioned, web_dist):
    """Three auth attempts a minute, a loopback proxy trusted, one CORS origin, a 1 s stream idle limit."""
    from app.main import create_app

    settings = gateway_settings(
        upstream, provisioned, atelier_web_dist=web_dist, gateway_auth_rate_limit=3, gateway_auth_rate_window_s=60,
        gateway_trusted_proxies="127.0.0.1/32", atelier_cors_origins="https://app.example",
        gateway_sse_idle_s=1.0,
    )
    app = create_app(settings)
    with ServerThread(app, proxy_headers=False) as server:
        app.base_url = server.url
        yield app


@pytest.fixture
async def strict(strict_gateway):
    async with httpx.AsyncClient(base_url=strict_gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.mark.parametrize("method, path", [
    ("GET", "/internal/api-keys/introspect"),
    ("POST", "/internal/api-keys/introspect"),
    ("POST", "/api/auth/internal/api-keys/introspect"),
    ("POST", "/api/auth/%2E%2E/%2E%2E/internal/api-keys/introspect"),
    ("GET", "/api/v1/%2e/jobs"),
    ("GET", "/internal"),
])
async def test_internal_routes_are_never_reached(client, upstream, method, path):
    before = len(upstream.introspected)
    response = await client.request(method, path, json={"key": "atl_live_" + "a" * 40},
                                     headers={"X-Internal-Token": upstream.internal_token})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert len(upstream.introspected) == before


async def test_auth_attempts_are_limited_per_address(strict):
    address, other = f"203.0.113.{uuid.uuid4().int % 250}", f"198.51.100.{uuid.uuid4().int % 250}"
    for attempt in range(3):
        ok = await strict.post("/api/auth/token", json={}, headers={"X-Forwarded-For": f"10.9.9.9, {address}"})
        assert ok.status_code == 201, ok.text
        assert ok.headers["ratelimit-policy"] == "3;w=60"
        assert ok.headers["ratelimit"].startswith(f"limit=3, remaining={2 - attempt}, reset=")
    refused = await strict.post("/api/auth/token", json={}, headers={"X-Forwarded-For": address})
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and 1 <= error["retry_after"] <= 60
    assert refused.headers["retry-after"] == str(error["retry_after"])
    assert "remaining=0" in refused.headers["ratelimit"]
    # Another address, another route family, and reads are counted separately or not at all.
    assert (await strict.post("/api/auth/token", json={}, headers={"X-Forwarded-For": other})).status_code == 201
    assert (await strict.post("/api/auth/signup", json={}, headers={"X-Forwarded-For": address})).status_code == 201
    assert (await strict.get("/api/auth/me", headers={"X-Forwarded-For": address})).status_code == 200


async def test_limits_are_shared_by_every_gateway_process(strict, strict_gateway, upstream, provisioned, web_dist):
    from app.main import create_app

    address = f"192.0.2.{uuid.uuid4().int % 250}"
    twin = create_app(strict_gateway.state.settings)
    with ServerThread(twin, proxy_headers=False) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as second:
            codes = []
            for c in (strict, second, strict, second):
                r = await c.post("/api/auth/password/reset", json={}, headers={"X-Forwarded-For": address})
                codes.append(r.status_code)
    assert codes == [201, 201, 201, 429]


async def test_cors_allows_only_the_configured_origins(strict, client):
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    allowed = await strict.options("/api/v1/jobs", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = await strict.options("/api/v1/jobs", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    # The default policy is same-origin only: no cross-origin grants at all.
    plain = await client.get("/api/auth/me", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in plain.headers


async def test_event_streams_outlive_the_idle_limit_while_kept_alive(strict, signer):
    headers = {"Authorization": f"Bearer {signer.token()}"}
    started = time.monotonic()
    async with strict.stream("GET", "/api/v1/jobs/keepalive/events", headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert time.monotonic() - started >= 1.5  # longer than the 1 s idle limit
    assert body.count(b": keepalive") == 8 and b"succeeded" in body


async def test_a_silent_event_stream_is_closed_at_the_idle_limit(strict, signer):
    headers = {"Authorization": f"Bearer {signer.token()}"}
    started = time.monotonic()
    async with strict.stream("GET", "/api/v1/jobs/silent/events", headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert 0.9 <= time.monotonic() - started < 5
    assert b"queued" in body and b"succeeded" not in body


async def test_event_stream_token_may_come_in_the_query(client, signer):
    token = signer.token()
    async with client.stream("GET", f"/api/v1/jobs/keepalive/events?access_token={token}") as response:
        assert response.status_code == 200
        await response.aread()


async def test_metrics_time_upstreams_and_count_requests_in_flight(client):
    await client.get("/api/auth/me")
    text = (await client.get("/metrics")).text
    assert 'gateway_upstream_duration_seconds_count{route="api_auth",status="200"}' in text
    # The /metrics request itself is in flight while it is answered.
    assert "gateway_requests_in_flight 1.0" in text


async def test_metrics_are_hidden_from_public_addresses_behind_a_trusted_proxy(strict):
    response = await strict.get("/metrics", headers={"X-Forwarded-For": "8.8.8.8"})
    assert response.status_code == 404


async def test_merged_api_reference(client):
    document = (await client.get("/api/openapi.json")).json()
    assert set(document["paths"]) >= {"/api/auth/me", "/api/v1/jobs"}
    assert document["x-atelier-missing"] == ["payments"]
    schemas = document["components"]["schemas"]
    assert {"auth_Thing", "auth_Error", "pre_inference_Thing", "pre_inference_Error"} <= set(schemas)
    assert schemas["pre_inference_Thing"]["items"] == {"$ref": "#/components/schemas/pre_inference_Error"}
    me = document["paths"]["/api/auth/me"]["get"]
    assert me["responses"]["400"] == {"$ref": "#/components/responses/auth_Error"}
    assert me["security"] == [{"auth_jwt": []}] and me["operationId"] == "auth_read"
    assert "auth_jwt" in document["components"]["securitySchemes"]
    # The gateway's own routes (the compatible front doors) are described too.
    assert {"/v1/images/generations", "/sdapi/v1/txt2img"} <= set(document["paths"])
    assert document["paths"]["/v1/models"]["get"]["security"] == [{"gateway_bearer": []}, {"gateway_basic": []}]

    page = await client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/api/docs/docs.js"' in page.text and "https://" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = await client.get("/api/docs/docs.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert (await client.get("/api/docs/docs.css")).status_code == 200
