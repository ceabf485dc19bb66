"""/admin/ is the staff's front door: a page of the gateway's own leading to both admins,
while everything under /admin/auth/ and /admin/payments/ still reaches its service."""
from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.mark.parametrize("path", ["/admin", "/admin/"])
async def test_the_landing_page_leads_to_both_admins(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    links = re.findall(r'href="([^"]+)"', response.text)
    assert {"/admin/auth/", "/admin/payments/", "/admin/auth/accounts/user/jobs/"} <= set(links)
    assert "make staff EMAIL=" in response.text


async def test_the_admins_themselves_are_still_forwarded(client):
    response = await client.get("/admin/auth/login/")
    assert response.status_code == 200 and response.json()["raw_path"] == "/admin/auth/login/"  # the upstream's echo
    response = await client.get("/admin/payments/")
    assert response.status_code == 200 and response.json()["raw_path"] == "/admin/payments/"
    assert (await client.get("/admin/nothing-here/")).status_code == 404
