"""Finding 1: upstream failures never leak, and nothing a client sends makes the gateway answer
500. Raw sockets, so headers, cookies, tokens and query values can carry any byte at all."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from atelier_storage import sign_path

from .conftest import SIGNING_KEY, gateway_settings
from .servers import FlakyUpstream, ServerThread

pytestmark = pytest.mark.integration

NASTY = [b"\xc3\xa9t\xc3\xa9", b"\xff\xfe\x80", b"a\x00b", b"\x01\x1b[31m\x7f", "١٢٣".encode(), b"x" * 6000,
         b"%00%ff%c3%28", b"\xed\xa0\x80"]


def raw_request(base_url: str, request: bytes) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    status_line = received.split(b"\r\n", 1)[0]
    return int(status_line.split(b" ")[1]), received


def get(target: bytes, *headers: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


async def test_a_non_ascii_signature_or_expiry_on_a_file_link_is_403(client, storage_dir):
    good = sign_path(SIGNING_KEY, "img/a.png")
    exp = good.split("exp=")[1].split("&")[0]
    for query in ("exp=%D9%A1%D9%A2&sig=" + "a" * 64, f"exp={exp}&sig=%C3%A9" + "a" * 62, f"exp={exp}&sig=%00",
                  f"exp={exp}&sig=" + "é" * 64, "exp=1_0&sig=ab", f"exp={'9' * 5000}&sig=ab"):
        response = await client.get(f"/files/img/a.png?{query}")
        assert response.status_code == 403, (query, response.text)
        assert response.json()["error"]["code"] == "signature_invalid"


@pytest.mark.parametrize("nasty", NASTY)
def test_any_bytes_in_headers_tokens_cookies_and_queries_are_never_a_500(gateway, signer, nasty):
    base = gateway.base_url
    quoted = "".join(f"%{b:02X}" for b in nasty[:300]).encode()
    requests = [
        get(b"/api/v1/jobs", b"Authorization: Bearer " + nasty),
        get(b"/api/v1/jobs", b"Authorization: " + nasty),
        get(b"/api/v1/jobs", b"X-API-Key: atl_live_" + nasty),
        get(b"/api/v1/jobs", b"Authorization: Bearer atl_live_" + nasty),
        get(b"/api/v1/jobs/j1/events?access_token=" + quoted),
        get(b"/api/v1/jobs/j1/events?access_token=atl_live_" + quoted),
        get(b"/api/v1/jobs?access_token=" + quoted),
        get(b"/api/auth/me", b"Cookie: a=" + nasty),
        get(b"/api/auth/me", b"X-Request-ID: " + nasty),
        get(b"/api/auth/me", b"X-Forwarded-For: " + nasty),
        get(b"/api/auth/me", b"Content-Length: " + nasty),
        get(b"/files/img/a.png?exp=" + quoted + b"&sig=" + quoted),
        get(b"/files/" + quoted + b"?exp=1&sig=" + quoted),
        get(b"/api/v1/jobs/" + quoted, b"Authorization: Bearer " + signer.token().encode()),
        get(b"/" + quoted + b"?" + quoted),
    ]
    for request in requests:
        try:
            status, answer = raw_request(base, request)
        except (ConnectionError, socket.timeout):
            continue  # the HTTP parser hung up on bytes it refuses: no answer is not a 500 either
        assert status < 500, (request[:200], answer[:500])


@pytest.fixture(scope="module")
def flaky():
    with FlakyUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def flaky_gateway(upstream, provisioned, flaky):
    from app.main import create_app

    app = create_app(gateway_settings(upstream, provisioned, pre_inference_url=flaky.url))
    with ServerThread(app, proxy_headers=False) as server:
        app.base_url = server.url
        yield app


async def test_an_upstream_debug_page_is_replaced_by_the_platform_error(flaky_gateway, signer, caplog):
    async with httpx.AsyncClient(base_url=flaky_gateway.base_url, timeout=10, trust_env=False) as c:
        response = await c.get("/api/v1/boom", headers={"Authorization": f"Bearer {signer.token()}",
                                                        "X-Request-ID": "req-boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == {"code": "upstream_error", "request_id": "req-boom-1",
                                        "message": "Atelier's image generation service failed; try again shortly"}
    assert "Traceback" not in response.text and response.headers["x-request-id"] == "req-boom-1"
    assert any("upstream_error_replaced" in r.getMessage() for r in caplog.records)


async def test_a_platform_error_from_an_upstream_passes_through(client, signer):
    response = await client.get("/api/v1/overloaded", headers={"Authorization": f"Bearer {signer.token()}"})
    assert response.status_code == 503 and response.headers["retry-after"] == "7"
    assert response.json() == {"error": {"code": "overloaded", "message": "busy"}}


async def test_the_gateways_own_unhandled_errors_are_json_500_with_the_request_id(client, swap_state):
    swap_state("rate_limiter", object())  # dispatch now fails with an AttributeError
    response = await client.get("/api/auth/me", headers={"X-Request-ID": "req-oops-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.json()["error"]["request_id"] == "req-oops-1"
