"""GET /api/v1/jobs/{id} and GET /api/v1/jobs: owners only, images as signed URLs."""
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from atelier_storage import verify_signature

from app.adapters import job_events

from .conftest import SIGNING_KEY

pytestmark = pytest.mark.integration

JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk"}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def submit(client, token, **body):
    response = await client.post("/api/v1/jobs", json={**JOB, **body}, headers=auth(token))
    assert response.status_code == 202, response.text
    return response.json()


async def test_owner_reads_the_job_others_get_404(client, make_token):
    mine = make_token()
    job = await submit(client, mine)

    own = await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(mine))
    assert own.status_code == 200 and own.json() == job

    for path in (f"/api/v1/jobs/{job['id']}", f"/api/v1/jobs/{uuid.uuid4()}", "/api/v1/jobs/not-a-uuid"):
        response = await client.get(path, headers=auth(make_token()))
        assert response.status_code == 404, path
        assert response.json() == {"error": {"code": "not_found", "message": "no such job"}}


async def test_succeeded_job_shows_signed_image_urls(client, make_token, db):
    token = make_token()
    job = await submit(client, token, width=256, height=256, seed=7)
    job_id = uuid.UUID(job["id"])
    images = [{"key": f"jobs/{job_id}/0.png", "seed": 7, "width": 256, "height": 256, "content_type": "image/png"}]
    assert job_events.mark_succeeded(db, job_id, images, datetime.now(timezone.utc))
    db.commit()

    body = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(token))).json()
    assert body["status"] == "succeeded" and body["progress"] == 1 and body["finished_at"]
    (image,) = body["images"]
    assert (image["seed"], image["width"], image["height"]) == (7, 256, 256)
    url = urlsplit(image["url"])
    assert url.path == f"/files/jobs/{job_id}/0.png"
    query = parse_qs(url.query)
    verify_signature(SIGNING_KEY, f"jobs/{job_id}/0.png", query["exp"][0], query["sig"][0])


async def test_failed_job_shows_its_error(client, make_token, db):
    token = make_token()
    job = await submit(client, token)
    assert job_events.mark_failed(db, uuid.UUID(job["id"]), "model_error", "the model could not load", datetime.now(timezone.utc))
    db.commit()
    body = (await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(token))).json()
    assert body["status"] == "failed" and body["error"] == {"code": "model_error", "message": "the model could not load"}


async def test_list_is_mine_newest_first_and_pages_by_cursor(client, make_token):
    token = make_token(tier="partner")  # five live jobs at once: over free's concurrency
    ids = [(await submit(client, token, prompt=f"p{i}"))["id"] for i in range(5)]
    await submit(client, make_token())  # someone else's

    first = (await client.get("/api/v1/jobs", params={"limit": 3}, headers=auth(token))).json()
    assert [j["id"] for j in first["items"]] == ids[::-1][:3] and first["next_cursor"]
    second = (await client.get("/api/v1/jobs", params={"limit": 3, "cursor": first["next_cursor"]}, headers=auth(token))).json()
    assert [j["id"] for j in second["items"]] == ids[::-1][3:] and second["next_cursor"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"cursor": "garbage!"}, {"cursor": "bm90fGE="}])
async def test_list_refuses_bad_paging(client, make_token, params):
    response = await client.get("/api/v1/jobs", params=params, headers=auth(make_token()))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error" and response.json()["error"]["fields"]
