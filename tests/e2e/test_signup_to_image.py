"""Sign up -> log in -> submit -> image, over HTTP through the gateway only."""
from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from .flows import verified_user

pytestmark = pytest.mark.e2e
JOB_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def user(client, platform):
    return verified_user(client, Path(platform["env"]["ATELIER_MAIL_DIR"]))


def wait_for_job(client, job_id, headers):
    deadline = time.monotonic() + JOB_TIMEOUT_S
    seen = []
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        seen.append(body["status"])
        if body["status"] in ("succeeded", "failed", "canceled"):
            return body, seen
        time.sleep(0.25)
    pytest.fail(f"job {job_id} still {seen[-1]} after {JOB_TIMEOUT_S}s (statuses seen: {sorted(set(seen))})")


def test_me_reflects_the_new_account(client, user):
    me = client.get("/api/auth/me", headers=user["headers"])
    assert me.status_code == 200
    assert me.json()["email"] == user["email"]


def test_submitted_job_yields_a_real_png_of_the_asked_size(client, user):
    submitted = client.post(
        "/api/v1/jobs",
        headers=user["headers"],
        json={"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 256, "height": 192, "steps": 4, "seed": 42},
    )
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["status"] == "queued"
    final, _ = wait_for_job(client, job["id"], user["headers"])
    assert final["status"] == "succeeded", final
    assert final["params"]["seed"] == 42
    [image] = final["images"]
    assert (image["width"], image["height"], image["seed"]) == (256, 192, 42)
    png = client.get(image["url"])
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png.content)).size == (256, 192)


def test_image_links_cannot_be_forged(client, user):
    # httpx would normalise a literal "../", so the traversal is percent-encoded.
    for path in ("/files/images/x/0.png?exp=9999999999&sig=00", "/files/..%2F..%2Fetc%2Fpasswd?exp=9999999999&sig=00", "/files/images/x/0.png"):
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert response.json()["error"]["code"] in ("signature_invalid", "signature_missing", "not_found"), path


def test_the_registration_reached_payments_through_the_broker(client, user):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.get("/api/payments/account", headers=user["headers"])
        if response.status_code == 200:
            assert response.json()["email"] == user["email"]
            return
        time.sleep(0.25)
    pytest.fail(f"payments never created the customer: {response.status_code} {response.text}")


@pytest.mark.parametrize(
    "path,body,headers,status,code",
    [
        ("/api/v1/jobs", {"kind": "txt2img", "prompt": "x"}, {}, 401, "not_authenticated"),
        ("/api/v1/jobs", {"kind": "txt2img", "prompt": "x"}, {"Authorization": "Bearer not.a.token"}, 401, "token_invalid"),
        ("/api/auth/signup", {"email": "not-an-email", "password": "x"}, {}, 400, "validation_error"),
        ("/api/auth/token", {"email": "nobody@example.com", "password": "wrong-password"}, {}, 401, "invalid_credentials"),
    ],
)
def test_bad_requests_get_clear_codes_through_the_gateway(client, path, body, headers, status, code):
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_malformed_json_is_refused_everywhere(client, user):
    for path in ("/api/auth/signup", "/api/v1/jobs"):
        response = client.post(path, content=b"{not json", headers={**user["headers"], "Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_json"


def test_job_validation_names_the_field(client, user):
    response = client.post("/api/v1/jobs", headers=user["headers"], json={"kind": "txt2img", "prompt": "x", "width": -512, "surprise": 1})
    assert response.status_code in (400, 422)
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "width" in error["fields"] and "surprise" in error["fields"]
