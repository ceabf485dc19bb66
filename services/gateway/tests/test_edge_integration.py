"""Signed files, the SPA, security headers, health and metrics, through a real gateway."""
from __future__ import annotations

import time

import httpx
import pytest
from atelier_storage import FilesystemStorage, sign_path

from app.routing import build_routing_table

from .conftest import SIGNING_KEY
from .servers import dead_url

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.fixture(scope="module")
def stored(storage_dir) -> str:
    key = "images/2024/job-1/0.png"
    FilesystemStorage(storage_dir).put_bytes(key, PNG, content_type="image/png")
    return key


def assert_security_headers(response):
    csp = response.headers["content-security-policy"]
    assert "default-src" in csp and "frame-ancestors 'none'" in csp or "sandbox" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_signed_file_is_streamed_with_its_type_and_private_caching(client, stored):
    response = await client.get(sign_path(SIGNING_KEY, stored, ttl_s=600))
    assert response.status_code == 200 and response.content == PNG
    assert response.headers["content-type"] == "image/png"
    cache = response.headers["cache-control"]
    assert cache.startswith("private, max-age=") and 590 <= int(cache.split("=")[1]) <= 600
    assert_security_headers(response)


async def test_tampered_expired_and_unsigned_links_are_403(client, stored):
    url = sign_path(SIGNING_KEY, stored)
    tampered = await client.get(url[:-4] + ("0000" if not url.endswith("0000") else "1111"))
    assert tampered.status_code == 403 and tampered.json()["error"]["code"] == "signature_invalid"
    other_key = await client.get(sign_path(SIGNING_KEY, stored).replace("0.png", "1.png"))
    assert other_key.status_code == 403
    expired = await client.get(sign_path(SIGNING_KEY, stored, now=time.time() - 7200, ttl_s=60))
    assert expired.status_code == 403 and expired.json()["error"]["code"] == "link_expired"
    unsigned = await client.get(f"/files/{stored}")
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "signature_missing"


async def test_traversal_and_missing_keys_are_404_even_when_signed(client, storage_dir):
    (storage_dir.parent / "outside.txt").write_text("secret")
    for key in ("../outside.txt", "images/../../outside.txt", "missing/none.png"):
        # Encode the dots so the client sends them as they are instead of normalising the path.
        url = sign_path(SIGNING_KEY, key).replace("..", "%2E%2E")
        response = await client.get(url)
        assert response.status_code == 404, key
        assert response.json()["error"]["code"] == "not_found"


async def test_spa_assets_are_immutable_and_pages_are_not_cached(client):
    asset = await client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/", "/jobs/123", "/login?next=/"):
        page = await client.get(path)
        assert page.status_code == 200 and "<div id=root>" in page.text, path
        assert page.headers["cache-control"] == "no-cache"
        assert page.headers["content-type"].startswith("text/html")
        assert_security_headers(page)
    assert (await client.get("/favicon.svg")).headers["content-type"].startswith("image/svg")
    missing = await client.get("/assets/nope.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    escape = await client.get("/assets/..%2Findex.html")
    assert escape.status_code == 404


async def test_missing_build_answers_a_clear_503(client, gateway, swap_state, tmp_path):
    swap_state("settings", gateway.state.settings.model_copy(update={"atelier_web_dist": tmp_path / "none"}))
    response = await client.get("/")
    assert response.status_code == 503 and "make web" in response.text


async def test_non_get_to_a_page_is_405_json(client):
    response = await client.post("/somewhere", content=b"x")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


async def test_errors_and_proxied_responses_carry_security_headers(client):
    assert_security_headers(await client.get("/api/nope"))
    assert_security_headers(await client.get("/api/auth/me"))


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"auth": "ok", "payments": "ok", "pre_inference": "ok", "redis": "ok"}


async def test_readiness_lists_what_is_down(client, gateway, swap_state):
    settings = gateway.state.settings.model_copy(update={"payments_url": dead_url()})
    swap_state("routing_table", build_routing_table(settings))
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["payments"]


async def test_readiness_passes_on_why_an_upstream_is_not_ready(client, upstream):
    """auth alive but unable to sign (its stored keys unreadable) is not ready, and says why."""
    upstream.readiness = (503, {"status": "unavailable", "reason": "signing_key_unreadable"})
    try:
        response = await client.get("/readyz")
    finally:
        upstream.readiness = (200, {"status": "ready"})
    assert response.status_code == 503
    assert "signing_key_unreadable" in response.json()["checks"]["auth"]


async def test_metrics_count_requests_by_route_and_status(client):
    await client.get("/api/nope")
    await client.get("/api/auth/me")
    text = (await client.get("/metrics")).text
    assert 'gateway_requests_total{method="GET",route="api_unknown",status="404"}' in text
    assert 'gateway_requests_total{method="GET",route="api_auth",status="200"}' in text
    assert 'gateway_request_duration_seconds_bucket{le="0.005",route="api_auth",status="200"}' in text
