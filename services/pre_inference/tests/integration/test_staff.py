"""/api/v1/staff: staff (auth's ``staff`` claim, their own session) find any job or image with
its owner and remove an image; nobody else can, API keys of staff included."""
import uuid

import pytest

from tests.integration.test_gallery_usage import auth, make_images

pytestmark = pytest.mark.integration


@pytest.fixture
def staff_token(make_token):
    return make_token(staff=True)


async def test_staff_find_a_users_jobs_with_the_owner_newest_first_in_pages(client, make_token, staff_token, sync_engine):
    owner = str(uuid.uuid4())
    owner_token = make_token(sub=owner, tier="pro")
    older = await make_images(client, owner_token, sync_engine, 2, prompt="older")
    newer = await make_images(client, owner_token, sync_engine, 1, prompt="newer")
    await make_images(client, make_token(tier="pro"), sync_engine, 1, prompt="someone else's")

    first = await client.get("/api/v1/staff/jobs", params={"user": owner, "limit": 1}, headers=auth(staff_token))
    assert first.status_code == 200, first.text
    second = await client.get("/api/v1/staff/jobs", params={"user": owner, "cursor": first.json()["next_cursor"]},
                              headers=auth(staff_token))
    jobs = first.json()["items"] + second.json()["items"]
    assert [j["id"] for j in jobs] == [newer["id"], older["id"]] and second.json()["next_cursor"] is None
    assert all(j["user_id"] == owner and j["api_key_id"] is None and j["status"] == "succeeded" for j in jobs)
    assert len(jobs[1]["images"]) == 2 and "/files/" in jobs[1]["images"][0]["url"]
    assert jobs[1]["params"]["prompt"] == "older"


async def test_staff_find_the_job_and_owner_of_an_image_or_a_job(client, make_token, staff_token, sync_engine):
    owner = str(uuid.uuid4())
    job = await make_images(client, make_token(sub=owner, tier="pro"), sync_engine, 1)
    by_job = (await client.get("/api/v1/staff/jobs", params={"job": job["id"]}, headers=auth(staff_token))).json()
    image_id = by_job["items"][0]["images"][0]["id"]
    by_image = (await client.get("/api/v1/staff/jobs", params={"image": image_id}, headers=auth(staff_token))).json()
    assert by_job == by_image and by_job["items"][0]["user_id"] == owner and by_job["next_cursor"] is None
    nothing = await client.get("/api/v1/staff/jobs", params={"image": str(uuid.uuid4())}, headers=auth(staff_token))
    assert nothing.status_code == 200 and nothing.json()["items"] == []


@pytest.mark.parametrize("params", [{}, {"user": "not-an-id"}, {"user": str(uuid.uuid4()), "job": str(uuid.uuid4())}])
async def test_staff_search_takes_exactly_one_id(client, staff_token, params):
    response = await client.get("/api/v1/staff/jobs", params=params, headers=auth(staff_token))
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


async def test_staff_remove_any_users_image_and_the_owner_no_longer_sees_it(client, make_token, staff_token, sync_engine, app):
    owner = str(uuid.uuid4())
    owner_token = make_token(sub=owner, tier="pro")
    job = await make_images(client, owner_token, sync_engine, 2)
    gallery = (await client.get("/api/v1/images", headers=auth(owner_token))).json()["items"]
    app.state.storage.put_bytes(f"jobs/{job['id']}/0.png", b"png bytes", content_type="image/png")
    doomed = next(i for i in gallery if i["seed"] == 5)

    assert (await client.delete(f"/api/v1/staff/images/{doomed['id']}", headers=auth(staff_token))).status_code == 204
    left = (await client.get("/api/v1/images", headers=auth(owner_token))).json()["items"]
    assert [i["id"] for i in left] == [i["id"] for i in gallery if i["id"] != doomed["id"]]
    assert not app.state.storage.exists(f"jobs/{job['id']}/0.png")
    again = await client.delete(f"/api/v1/staff/images/{doomed['id']}", headers=auth(staff_token))
    assert again.status_code == 404


async def test_only_staff_sessions_may_use_the_staff_routes(client, make_token, sync_engine):
    owner_token = make_token(tier="pro")
    job = await make_images(client, owner_token, sync_engine, 1)
    image_id = (await client.get("/api/v1/images", headers=auth(owner_token))).json()["items"][0]["id"]
    refused = [
        make_token(),  # a person who is not staff
        make_token(staff="true"),  # only the JSON true auth writes counts
        make_token(staff=True, key_id=str(uuid.uuid4()), scopes=["jobs:read", "jobs:write", "images:read"]),  # a staff member's API key
    ]
    for token in refused:
        listing = await client.get("/api/v1/staff/jobs", params={"job": job["id"]}, headers=auth(token))
        assert listing.status_code == 403 and listing.json()["error"]["code"] == "permission_denied"
        removal = await client.delete(f"/api/v1/staff/images/{image_id}", headers=auth(token))
        assert removal.status_code == 403
    assert (await client.get("/api/v1/staff/jobs", params={"job": job["id"]})).status_code == 401
    assert len((await client.get("/api/v1/images", headers=auth(owner_token))).json()["items"]) == 1
