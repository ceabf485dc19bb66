"""img2img and inpaint: inline data URLs or my own gallery images, checked with Pillow,
stored as PNG under uploads/<job_id>/, and named in the job's params."""
import base64
import io
import uuid
from pathlib import Path
from datetime import datetime, timezone

import pytest
from atelier_storage import FilesystemStorage
from PIL import Image
from sqlalchemy.orm import sessionmaker

from app.adapters import job_events

pytestmark = pytest.mark.integration


def data_url(fmt="PNG", size=(64, 64), mime=None):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=fmt)
    return f"data:{mime or 'image/' + fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def test_img2img_stores_the_init_image_as_png(client, make_token, settings):
    body = {"kind": "img2img", "prompt": "p", "init_image": data_url("JPEG", mime="image/jpeg"), "strength": 0.4}
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert response.status_code == 202, response.text
    params = response.json()["params"]
    assert params["init_image_key"] == f"uploads/{response.json()['id']}/init.png" and params["mask_key"] is None and params["strength"] == 0.4
    stored = FilesystemStorage(settings.atelier_storage_dir).get_bytes(params["init_image_key"])
    assert Image.open(io.BytesIO(stored)).format == "PNG"


async def test_img2img_is_charged_for_the_steps_it_runs(client, make_token, db):
    """strength 0.5 of 30 steps runs 15: a 1024² image costs 2 units, not the 4 of txt2img."""
    from atelier_contracts import decode

    from .test_submit import outbox_for

    body = {"kind": "img2img", "prompt": "p", "init_image": data_url(), "strength": 0.5, "steps": 30, "width": 1024, "height": 1024}
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token(tier="pro")))
    assert response.status_code == 202, response.text
    assert response.headers["RateLimit"].startswith('"user";r=58;'), response.headers["RateLimit"]  # pro: 60 a minute
    (_, _, _, raw), = outbox_for(db, response.json()["id"], "pre_inference.job.accepted.v1")
    assert decode(raw).data["cost"] == 2.0


async def test_an_img2img_job_that_would_run_no_step_is_refused_at_submit(client, make_token):
    """1 step at strength 0.75 denoises int(0.75) = 0 steps: SD would fail at the worker."""
    body = {"kind": "img2img", "prompt": "p", "init_image": data_url(), "steps": 1}
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["fields"]) == ["strength"]


async def test_inpaint_with_a_gallery_image_and_an_uploaded_mask(client, make_token, sync_engine):
    token = make_token(tier="pro")
    first = (await client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "p"}, headers=auth(token))).json()
    image = {"key": f"jobs/{first['id']}/0.png", "seed": 3, "width": 64, "height": 64, "content_type": "image/png"}
    with sessionmaker(sync_engine)() as session, session.begin():
        job_events.mark_succeeded(session, uuid.UUID(first["id"]), [image], datetime.now(timezone.utc))
    image_id = (await client.get(f"/api/v1/jobs/{first['id']}", headers=auth(token))).json()["images"][0]["id"]
    body = {"kind": "inpaint", "prompt": "p", "init_image": image_id, "mask": data_url("WEBP")}
    response = await client.post("/api/v1/jobs", json=body, headers=auth(token))
    assert response.status_code == 202, response.text
    params = response.json()["params"]
    assert params["init_image_key"] == image["key"] and params["mask_key"] == f"uploads/{response.json()['id']}/mask.png"
    # someone else cannot use my image
    other = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert other.status_code == 422 and other.json()["error"]["fields"]["init_image"] == ["names no image of yours"]


@pytest.mark.parametrize(
    "value,status,code",
    [
        ("data:image/gif;base64,R0lGODlhAQABAAAAACw=", 422, "validation_error"),
        ("data:image/png;base64,not-base64!!", 422, "validation_error"),
        ("data:image/png;base64," + base64.b64encode(b"not an image").decode(), 422, "validation_error"),
        (data_url("PNG", size=(1024, 64)), 422, "exceeds_tier"),
        ("data:image/png;base64," + "A" * (12 * 1024 * 1024), 413, "payload_too_large"),
        ("../../etc/passwd", 422, "validation_error"),
    ],
)
async def test_bad_uploads_are_refused(client, make_token, value, status, code):
    response = await client.post("/api/v1/jobs", json={"kind": "img2img", "prompt": "p", "init_image": value}, headers=auth(make_token()))
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text
    assert "init_image" in response.json()["error"]["fields"]


async def test_a_gif_disguised_as_png_is_refused(client, make_token):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="GIF")
    value = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    response = await client.post("/api/v1/jobs", json={"kind": "img2img", "prompt": "p", "init_image": value}, headers=auth(make_token()))
    assert response.status_code == 422 and "PNG, JPEG or WebP" in response.json()["error"]["message"]


async def test_a_refused_submission_leaves_no_upload_behind(client, make_token, settings):
    token = make_token()  # free: one job at a time
    assert (await client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "p"}, headers=auth(token))).status_code == 202
    uploads = Path(settings.atelier_storage_dir) / "uploads"
    before = sorted(uploads.rglob("*")) if uploads.exists() else []
    body = {"kind": "inpaint", "prompt": "p", "init_image": data_url(), "mask": data_url("WEBP")}
    response = await client.post("/api/v1/jobs", json=body, headers=auth(token))
    assert response.status_code == 429 and response.json()["error"]["code"] == "concurrency_limit", response.text
    after = sorted(path for path in uploads.rglob("*") if path.is_file()) if uploads.exists() else []
    assert after == [path for path in before if path.is_file()]


async def test_uploads_go_to_s3_when_the_backend_says_so(settings, verifier, make_token, monkeypatch, s3_endpoint):
    """ATELIER_STORAGE_BACKEND=s3 (moto's real server): the upload lands where the worker and
    the gateway read, not in a local folder."""
    import httpx
    from atelier_storage import S3Storage

    from app.main import create_app

    for name, value in {"ATELIER_STORAGE_BACKEND": "s3", "ATELIER_S3_BUCKET": "atelier-pre-uploads",
                        "ATELIER_S3_ENDPOINT_URL": s3_endpoint, "ATELIER_S3_REGION": "us-east-1",
                        "ATELIER_S3_ACCESS_KEY_ID": "test", "ATELIER_S3_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    app = create_app(settings, verifier=verifier)
    storage = app.state.storage
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket=storage.bucket)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pre-inference.test") as c:
            body = {"kind": "img2img", "prompt": "p", "init_image": data_url(), "strength": 0.5}
            response = await c.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    finally:
        await app.state.job_changes.close()
        await app.state.engine.dispose()
    assert response.status_code == 202, response.text
    stored = storage.get_bytes(response.json()["params"]["init_image_key"])
    assert Image.open(io.BytesIO(stored)).format == "PNG"
    assert storage.read_meta(response.json()["params"]["init_image_key"])["content_type"] == "image/png"
