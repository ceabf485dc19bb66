"""Finding 6: one upstream failure must never break the next caller's request. A connection the
upstream failed on is closed, not pooled, and an idempotent request that meets a pooled
connection the upstream has closed is sent again on a fresh one."""
from __future__ import annotations

import httpx
import pytest

from .conftest import gateway_settings
from .servers import FlakyUpstream, ServerThread

pytestmark = pytest.mark.integration


def _gateway(upstream, provisioned, flaky_url):
    from app.main import create_app

    # Generous keep-alive: the pooled connection is certainly still there for the next request.
    app = create_app(gateway_settings(upstream, provisioned, pre_inference_url=flaky_url, gateway_upstream_keepalive_s=30))
    return app


async def test_after_an_upstream_500_the_next_users_post_gets_a_fresh_connection(upstream, provisioned, signer):
    with FlakyUpstream() as flaky:
        app = _gateway(upstream, provisioned, flaky.url)
        with ServerThread(app, proxy_headers=False) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as client:
                first = await client.get("/api/v1/boom", headers={"Authorization": f"Bearer {signer.token()}"})
                assert first.status_code == 500
                other_user = signer.token(sub="00000000-0000-0000-0000-000000000002")
                for _ in range(3):
                    response = await client.post("/api/v1/jobs", json={"prompt": "x"},
                                                 headers={"Authorization": f"Bearer {other_user}"})
                    assert response.status_code == 201, response.text
    assert flaky.requests.count("POST /api/v1/jobs") == 3  # never sent on the dead connection


async def test_idempotent_requests_are_retried_once_on_a_stale_pooled_connection(upstream, provisioned, signer):
    with FlakyUpstream(close_reused=True) as flaky:
        app = _gateway(upstream, provisioned, flaky.url)
        with ServerThread(app, proxy_headers=False) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as client:
                headers = {"Authorization": f"Bearer {signer.token()}"}
                for method in ("GET", "GET", "DELETE", "PUT", "HEAD", "OPTIONS"):
                    response = await client.request(method, "/api/v1/jobs/j1", headers=headers)
                    assert response.status_code == 200, (method, response.text)
                # A POST is never resent: the upstream may have acted on it. It fails cleanly.
                post = await client.post("/api/v1/jobs", json={}, headers=headers)
                assert post.status_code in (201, 502)
                if post.status_code == 502:
                    assert post.json()["error"]["code"] == "upstream_unavailable"
    assert flaky.requests.count("POST /api/v1/jobs") == 1
