"""Finding 10 (gateway part): the settings promised HSTS from the edge, and it never came.
Sent over https (a trusted TLS terminator says so in X-Forwarded-Proto), or always when
configured; never over plain HTTP, and never on an untrusted client's word."""
from __future__ import annotations

import contextlib

import httpx
import pytest

from .conftest import gateway_settings
from .servers import ServerThread

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def running_gateway(upstream, provisioned, **overrides):
    from app.main import create_app

    app = create_app(gateway_settings(upstream, provisioned, **overrides))
    with ServerThread(app, proxy_headers=False) as server:
        yield server.url


async def test_hsts_over_https_from_a_trusted_proxy_only(upstream, provisioned):
    with running_gateway(upstream, provisioned, gateway_trusted_proxies="127.0.0.1/32") as url:
        async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client:
            https = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
            assert https.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
            proxied = await client.get("/api/auth/me", headers={"X-Forwarded-Proto": "https"})
            assert "strict-transport-security" in proxied.headers
            # The services are told the original scheme (auth builds secure cookies from it).
            assert ["x-forwarded-proto", "https"] in proxied.json()["headers"]
            plain = await client.get("/healthz")
            assert "strict-transport-security" not in plain.headers
    with running_gateway(upstream, provisioned) as url:  # no trusted proxy: the header is only a claim
        async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client:
            claimed = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
            assert "strict-transport-security" not in claimed.headers


async def test_hsts_always_when_configured(upstream, provisioned):
    with running_gateway(upstream, provisioned, gateway_hsts_always=True, gateway_hsts_max_age_s=600) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client:
            response = await client.get("/api/v1/jobs")  # even on an error answer
            assert response.status_code == 401
            assert response.headers["strict-transport-security"] == "max-age=600; includeSubDomains"
