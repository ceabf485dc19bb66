"""Signed files served from S3 (moto's real server on loopback): the gateway streams from
whichever backend ATELIER_STORAGE_BACKEND names, as pre_inference and the worker write."""
from __future__ import annotations

import httpx
import pytest
from atelier_storage import S3Storage, sign_path

from app.main import create_app

from .conftest import SIGNING_KEY, gateway_settings
from .servers import ServerThread, dead_url

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400  # several stream chunks


@pytest.fixture(scope="module")
def s3_endpoint():
    from atelier_devkit.s3 import s3_server

    with s3_server() as endpoint:
        yield endpoint


def _s3_env(endpoint: str) -> dict[str, str]:
    return {"ATELIER_STORAGE_BACKEND": "s3", "ATELIER_S3_BUCKET": "atelier-gateway-files",
            "ATELIER_S3_ENDPOINT_URL": endpoint, "ATELIER_S3_REGION": "us-east-1",
            "ATELIER_S3_ACCESS_KEY_ID": "test", "ATELIER_S3_SECRET_ACCESS_KEY": "test", "ATELIER_S3_PREFIX": "run",
            "ATELIER_S3_CONNECT_TIMEOUT_S": "1", "ATELIER_S3_READ_TIMEOUT_S": "2"}


def _gateway(upstream, provisioned, monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app(gateway_settings(upstream, provisioned))


async def test_a_signed_file_is_streamed_from_s3(upstream, provisioned, monkeypatch, s3_endpoint):
    app = _gateway(upstream, provisioned, monkeypatch, _s3_env(s3_endpoint))
    storage = app.state.storage
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket=storage.bucket)
    storage.put_bytes("images/j1/0.png", PNG, content_type="image/png")
    with ServerThread(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as client:
            got = await client.get(sign_path(SIGNING_KEY, "images/j1/0.png", ttl_s=600))
            head = await client.head(sign_path(SIGNING_KEY, "images/j1/0.png", ttl_s=600))
            missing = await client.get(sign_path(SIGNING_KEY, "images/j1/9.png", ttl_s=600))
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"
    assert head.status_code == 200 and head.headers["content-length"] == str(len(PNG)) and head.content == b""
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_an_unreachable_store_is_503_not_500(upstream, provisioned, monkeypatch):
    app = _gateway(upstream, provisioned, monkeypatch, _s3_env(dead_url()))
    with ServerThread(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30, trust_env=False) as client:
            response = await client.get(sign_path(SIGNING_KEY, "images/j1/0.png", ttl_s=600))
    assert response.status_code == 503 and response.json()["error"]["code"] == "storage_unavailable"
