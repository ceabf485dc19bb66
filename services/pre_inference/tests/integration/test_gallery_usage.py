"""GET/DELETE /api/v1/images, GET /api/v1/usage, and API-key scopes on them."""
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy.orm import sessionmaker

from app.adapters import job_events

pytestmark = pytest.mark.integration
SCOPES = ["jobs:write", "jobs:read", "images:read", "usage:read"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def make_images(client, token, sync_engine, count, prompt="p"):
    job = (await client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": prompt, "seed": 5, "n": count}, headers=auth(token))).json()
    images = [{"key": f"jobs/{job['id']}/{i}.png", "seed": 5 + i, "width": 512, "height": 512, "content_type": "image/png"} for i in range(count)]
    with sessionmaker(sync_engine)() as session, session.begin():
        job_events.mark_succeeded(session, uuid.UUID(job["id"]), images, datetime.now(timezone.utc))
    return job


async def test_gallery_pages_mine_with_params_and_seed_and_deletes(client, make_token, sync_engine):
    token = make_token(tier="pro")
    job = await make_images(client, token, sync_engine, 3)
    await make_images(client, make_token(tier="pro"), sync_engine, 1)  # someone else's
    first = (await client.get("/api/v1/images", params={"limit": 2}, headers=auth(token))).json()
    second = (await client.get("/api/v1/images", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth(token))).json()
    items = first["items"] + second["items"]
    assert len(items) == 3 and second["next_cursor"] is None
    assert {i["seed"] for i in items} == {5, 6, 7} and all(i["job_id"] == job["id"] and i["params"]["prompt"] == "p" for i in items)
    assert all(i["params"]["seed"] == i["seed"] and "/files/" in i["url"] for i in items)
    other = await client.delete(f"/api/v1/images/{items[0]['id']}", headers=auth(make_token()))
    assert other.status_code == 404
    assert (await client.delete(f"/api/v1/images/{items[0]['id']}", headers=auth(token))).status_code == 204
    assert (await client.delete(f"/api/v1/images/{items[0]['id']}", headers=auth(token))).status_code == 404
    assert len((await client.get("/api/v1/images", headers=auth(token))).json()["items"]) == 2
    assert (await client.get("/api/v1/images", params={"cursor": "junk"}, headers=auth(token))).status_code == 422


async def test_gallery_search_keeps_images_whose_prompt_has_every_word(client, make_token, sync_engine):
    token = make_token(tier="pro")
    for prompt in ["A red Fox in snow", "a fox and a heron", "still life, 100% pears", "lighthouse at dusk"]:
        await make_images(client, token, sync_engine, 1, prompt=prompt)
    await make_images(client, make_token(tier="pro"), sync_engine, 1, prompt="a fox of someone else's")

    async def prompts(q, **params):
        response = await client.get("/api/v1/images", params={"q": q, **params}, headers=auth(token))
        assert response.status_code == 200, response.text
        return [i["params"]["prompt"] for i in response.json()["items"]], response.json()["next_cursor"]

    assert (await prompts("FOX"))[0] == ["a fox and a heron", "A red Fox in snow"]  # any case, newest first, mine only
    assert (await prompts("heron  fox"))[0] == ["a fox and a heron"]  # every word, any order
    assert (await prompts("fox owl"))[0] == []
    # % and _ are the user's characters, not wildcards.
    assert (await prompts("100%"))[0] == ["still life, 100% pears"]
    assert (await prompts("%"))[0] == ["still life, 100% pears"]
    assert (await prompts("_"))[0] == []
    # Paging through a search keeps it.
    first, cursor = await prompts("fox", limit=1)
    assert first == ["a fox and a heron"] and cursor
    assert await prompts("fox", limit=1, cursor=cursor) == (["A red Fox in snow"], None)
    assert len((await prompts(""))[0]) == 4


@pytest.mark.parametrize("q", ["nul%00byte", "tab%09stop", "esc%1B", "x" * 201, "a b c d e f g h i"])
async def test_gallery_search_refuses_what_it_cannot_search_for(client, make_token, q):
    response = await client.get(f"/api/v1/images?q={q}", headers=auth(make_token()))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error" and "q" in response.json()["error"]["fields"]


async def test_usage_reports_limits_and_what_is_left(client, make_token):
    user = str(uuid.uuid4())
    token = make_token(sub=user)
    before = (await client.get("/api/v1/usage", headers=auth(token))).json()
    assert before["tier"] == "free"
    assert before["limits"] == {"requests_per_minute": 5, "images_per_day": 50, "concurrency": 1, "max_width": 512, "max_height": 512, "max_steps": 30}
    assert before["remaining"] == {"requests_this_minute": 5, "images_today": 50, "credits": 0, "concurrent_jobs": 1}
    await client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "p", "n": 2}, headers=auth(token))
    after = (await client.get("/api/v1/usage", headers=auth(token))).json()
    assert after["remaining"] == {"requests_this_minute": 3, "images_today": 48, "credits": 0, "concurrent_jobs": 0}
    assert datetime.fromisoformat(after["resets_at"]["day"]).hour == 0


@pytest.mark.parametrize(
    "method,path,scope",
    [("GET", "/api/v1/images", "images:read"), ("GET", "/api/v1/usage", "usage:read"), ("GET", "/api/v1/jobs", "jobs:read"), ("DELETE", f"/api/v1/jobs/{uuid.uuid4()}", "jobs:write")],
)
async def test_api_key_scopes(client, make_token, method, path, scope):
    key_id = str(uuid.uuid4())
    without = make_token(tier="partner", key_id=key_id, scopes=[s for s in SCOPES if s != scope])
    response = await client.request(method, path, headers=auth(without))
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
    with_scope = await client.request(method, path, headers=auth(make_token(tier="partner", key_id=key_id, scopes=[scope])))
    assert with_scope.status_code in (200, 404)


async def test_openapi_documents_every_route(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths) >= {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/events", "/api/v1/images", "/api/v1/images/{image_id}", "/api/v1/usage"}
    assert "delete" in paths["/api/v1/jobs/{job_id}"] and "429" in paths["/api/v1/jobs"]["post"]["responses"]
    job_schema = spec["components"]["schemas"]["JobOut"]["properties"]
    assert {"phase", "queue_position", "step", "total_steps"} <= set(job_schema)
