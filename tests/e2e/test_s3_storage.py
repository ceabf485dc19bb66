"""The platform on object storage: every process (the gateway, pre_inference's API and
sweeper, the worker) uses an S3 API server (moto's, on loopback) and nothing else in common
with the others for files. Images land in the bucket and open through the gateway; an
img2img input travels through it; a deleted account's objects leave it."""
from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from .flows import PASSWORD, eventually, verified_user

pytestmark = pytest.mark.e2e
JOB_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def client(platform_on_s3):
    with httpx.Client(base_url=platform_on_s3["base_url"], timeout=30) as c:
        yield c


def objects(bucket) -> set[str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.bucket, Prefix=bucket.prefix)
    return {item["Key"][len(bucket.prefix):] for item in listed.get("Contents", [])}


def finished(client, job_id, headers) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if body["status"] in ("succeeded", "failed", "canceled"):
            return body
        time.sleep(0.25)
    pytest.fail(f"job {job_id} did not finish in {JOB_TIMEOUT_S}s")


def png_data_url(size=(64, 64)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def generated(client, platform_on_s3):
    """A verified user with a txt2img and an img2img job, both finished."""
    user = verified_user(client, Path(platform_on_s3["env"]["ATELIER_MAIL_DIR"]), prefix="e2e-s3")
    jobs = []
    for body in ({"kind": "txt2img", "prompt": "a harbour", "width": 128, "height": 128, "steps": 2, "n": 2},
                 {"kind": "img2img", "prompt": "the same, at night", "init_image": png_data_url(), "strength": 0.6,
                  "width": 64, "height": 64, "steps": 2}):
        submitted = client.post("/api/v1/jobs", headers=user["headers"], json=body)
        assert submitted.status_code == 202, submitted.text
        jobs.append(finished(client, submitted.json()["id"], user["headers"]))
    return user, jobs


def test_images_land_in_the_bucket_and_open_through_the_gateway(client, platform_on_s3, generated):
    _, jobs = generated
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"], jobs
    stored = objects(platform_on_s3["bucket"])
    for job in jobs:
        for image in job["images"]:
            opened = client.get(image["url"])
            assert opened.status_code == 200 and opened.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(opened.content)).size == (image["width"], image["height"])
    assert sum(len(job["images"]) for job in jobs) == 3
    assert any(key.startswith("uploads/") for key in stored), "the img2img input went to the bucket"
    assert len([key for key in stored if not key.startswith("uploads/")]) >= 3
    # Nothing was written to the local folder the filesystem backend would use.
    local = Path(platform_on_s3["env"]["ATELIER_STORAGE_DIR"])
    assert not [path for path in local.rglob("*") if path.is_file()]


def test_a_deleted_account_leaves_the_bucket(client, platform_on_s3, generated):
    user, _ = generated
    before = objects(platform_on_s3["bucket"])
    assert before
    deleted = client.request("DELETE", "/api/auth/me", headers=user["headers"], json={"password": PASSWORD})
    assert deleted.status_code == 204, deleted.text
    eventually(lambda: not objects(platform_on_s3["bucket"]) & before, "the account's objects leaving the bucket", timeout=60)
