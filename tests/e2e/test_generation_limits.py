"""The generation path's admission through the gateway: verified users only, tier checks,
429s with their headers, usage, cancel and the live event stream (SSE)."""
from __future__ import annotations

import email
import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery staple"


def eventually(probe, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"{what} did not happen within {timeout}s")


def verification_token(mail_dir: Path, address: str) -> str | None:
    for path in sorted(mail_dir.glob("**/*")):
        if path.is_file():
            message = email.message_from_bytes(path.read_bytes())
            if address in (message.get("To") or ""):
                for part in message.walk():
                    found = re.search(rb"verify\?token=([A-Za-z0-9_.\-]+)", part.get_payload(decode=True) or b"")
                    if found:
                        return found.group(1).decode()
    return None


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


def sign_up(client, platform, *, verify: bool) -> dict:
    address = f"limits-{uuid.uuid4().hex[:10]}@example.com"
    assert client.post("/api/auth/signup", json={"email": address, "password": PASSWORD}).status_code == 201
    if verify:
        token = eventually(lambda: verification_token(Path(platform["env"]["ATELIER_MAIL_DIR"]), address), "the verification mail")
        assert client.post("/api/auth/verify", json={"token": token}).status_code == 200
    access = client.post("/api/auth/token", json={"email": address, "password": PASSWORD}).json()["access"]
    return {"access": access, "headers": {"Authorization": f"Bearer {access}"}}


@pytest.fixture(scope="module")
def verified(client, platform):
    return sign_up(client, platform, verify=True)


JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 128, "height": 128, "steps": 2}


def test_unverified_users_cannot_generate(client, platform):
    user = sign_up(client, platform, verify=False)
    response = client.post("/api/v1/jobs", json=JOB, headers=user["headers"])
    assert response.status_code == 403 and response.json()["error"]["code"] == "email_unverified"


def test_a_size_no_tier_allows_is_refused_at_once(client, verified):
    response = client.post("/api/v1/jobs", json={**JOB, "width": 4096}, headers=verified["headers"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "exceeds_tier" and "width" in response.json()["error"]["fields"]


def test_sse_follows_a_job_to_its_images(client, platform, verified):
    job = client.post("/api/v1/jobs", json=JOB, headers=verified["headers"]).json()
    statuses = []
    with httpx.Client(base_url=platform["base_url"], timeout=120) as stream_client:
        with stream_client.stream("GET", f"/api/v1/jobs/{job['id']}/events", params={"access_token": verified["access"]}) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data: "):
                    statuses.append(json.loads(line[6:]))
    assert statuses[0]["id"] == job["id"]
    assert statuses[-1]["status"] == "succeeded" and len(statuses[-1]["images"]) == 1
    assert client.get(statuses[-1]["images"][0]["url"]).status_code == 200


def test_parallel_submits_get_429_with_rate_limit_headers(client, verified):
    # free: 5 cost units a minute and one job at a time
    with httpx.Client(base_url=client.base_url, timeout=30) as c:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda _: c.post("/api/v1/jobs", json=JOB, headers=verified["headers"]), range(8)))
    accepted = [r for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code == 429]
    assert len(accepted) + len(refused) == 8 and len(accepted) <= 5
    for response in refused:
        error = response.json()["error"]
        assert error["code"] in ("rate_limited", "concurrency_limit") and int(response.headers["Retry-After"]) >= 1
        assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers
    usage = client.get("/api/v1/usage", headers=verified["headers"]).json()
    assert usage["tier"] == "free" and usage["limits"]["requests_per_minute"] == 5
    assert usage["remaining"]["requests_this_minute"] <= 5 - len(accepted)


def test_cancel_then_the_job_stays_canceled(client, platform):
    user = sign_up(client, platform, verify=True)
    job = client.post("/api/v1/jobs", json={**JOB, "steps": 30, "width": 256, "height": 256}, headers=user["headers"]).json()
    response = client.delete(f"/api/v1/jobs/{job['id']}", headers=user["headers"])
    if response.status_code == 409:  # the worker was faster than us
        assert response.json()["error"]["code"] == "job_finished"
        return
    assert response.status_code == 202 and response.json()["status"] == "canceled"
    time.sleep(2)  # let a late worker outcome arrive; it must change nothing
    final = client.get(f"/api/v1/jobs/{job['id']}", headers=user["headers"]).json()
    assert final["status"] == "canceled" and final["images"] == []


def test_img2img_from_an_uploaded_image_reaches_the_worker(client, platform):
    import base64
    import io

    from PIL import Image

    user = sign_up(client, platform, verify=True)
    buffer = io.BytesIO()
    Image.new("RGB", (128, 128), (30, 120, 200)).save(buffer, format="JPEG")
    init = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    submitted = client.post("/api/v1/jobs", json={**JOB, "kind": "img2img", "init_image": init, "strength": 0.5}, headers=user["headers"])
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    final = eventually(
        lambda: (j := client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json())["status"] in ("succeeded", "failed") and j,
        "the img2img job to finish", timeout=240,
    )
    assert final["status"] == "succeeded", final
    assert final["params"]["init_image_key"] == f"uploads/{job_id}/init.png" and len(final["images"]) == 1
