"""GET /api/v1/jobs/{id}/events through a real HTTP server: the first message is the
snapshot, every committed change follows (via Redis pub/sub), keepalives while quiet,
and the stream ends at a terminal state."""
import asyncio
import json
import socket
from datetime import datetime, timezone

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import sessionmaker

from app.adapters.notify import SyncNotifier, publish_after_commit
from app.main import create_app

from .helpers import deliver, iso

pytestmark = pytest.mark.integration
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def base_url(settings, verifier):
    app = create_app(settings.model_copy(update={"pre_inference_sse_keepalive_s": 0.3}), verifier=verifier)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
def notifying_factory(sync_engine, settings):
    factory = sessionmaker(sync_engine, expire_on_commit=False)
    notifier = SyncNotifier(settings.atelier_redis_url, settings.atelier_redis_prefix)
    publish_after_commit(factory, notifier)
    yield factory
    notifier.close()


async def read_events(response, into: list, comments: list):
    event = None
    async for line in response.aiter_lines():
        if line.startswith(":"):
            comments.append(line)
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            into.append((event, json.loads(line[6:])))


async def wait_for(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_stream_follows_a_job_to_its_end(base_url, make_token, notifying_factory):
    token = make_token(tier="pro")
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        job = (await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": f"Bearer {token}"})).json()
        events, comments = [], []
        # EventSource cannot send headers: the token rides in the query string.
        async with client.stream("GET", f"/api/v1/jobs/{job['id']}/events", params={"access_token": token}) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            reader = asyncio.create_task(read_events(response, events, comments))
            await wait_for(lambda: len(events) == 1)
            assert events[0][0] == "job" and events[0][1]["status"] == "queued" and events[0][1]["queue_position"] is not None
            now = iso(datetime.now(timezone.utc))
            await asyncio.to_thread(deliver, notifying_factory, "inference.job.started.v1", {"job_id": job["id"], "worker": "w", "attempt": 1, "started_at": now}, "inference")
            await wait_for(lambda: any(e[1]["status"] == "running" for e in events))
            await asyncio.to_thread(deliver, notifying_factory, "inference.job.progress.v1", {"job_id": job["id"], "step": 10, "total_steps": 20}, "inference")
            await wait_for(lambda: any(e[1]["step"] == 10 for e in events))
            await wait_for(lambda: len(comments) >= 1)  # quiet for > 0.3 s: a keepalive
            images = [{"key": f"jobs/{job['id']}/0.png", "seed": 7, "width": 64, "height": 64, "content_type": "image/png"}]
            await asyncio.to_thread(deliver, notifying_factory, "inference.job.succeeded.v1", {"job_id": job["id"], "images": images, "timings_ms": {}, "finished_at": now}, "inference")
            await asyncio.wait_for(reader, 10)  # the server closes the stream after the terminal state
        last = events[-1][1]
        assert last["status"] == "succeeded" and last["images"][0]["seed"] == 7 and last["progress"] == 1.0
        assert [e[1]["status"] for e in events] == sorted([e[1]["status"] for e in events], key=["queued", "running", "succeeded"].index)
        # The end came in the consumer's notice, not from a read: it is the job as a read shows it
        # (the image links are signed when made, so only their expiry may differ).
        read = (await client.get(f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"})).json()
        assert unsigned(last) == unsigned(read)


PREVIEW = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA=="


async def test_a_running_job_s_previews_reach_its_stream_and_stay_out_of_the_database(base_url, make_token, notifying_factory, settings, sync_engine):
    """inference.job.progress v2's preview goes to the streams with the notice; the newest is
    kept in Redis for a stream opened later, and removed when the job ends. v1 still applies."""
    import redis as sync_redis
    from sqlalchemy import text

    from app.adapters.notify import preview_key

    token = make_token(tier="pro")
    store = sync_redis.Redis.from_url(settings.atelier_redis_url)
    key = None
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        job = (await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": f"Bearer {token}"})).json()
        key = preview_key(settings.atelier_redis_prefix, job["id"])
        now = iso(datetime.now(timezone.utc))
        await asyncio.to_thread(deliver, notifying_factory, "inference.job.started.v1", {"job_id": job["id"], "worker": "w", "attempt": 1, "started_at": now}, "inference")
        await asyncio.to_thread(deliver, notifying_factory, "inference.job.progress.v1", {"job_id": job["id"], "step": 2, "total_steps": 20}, "inference")
        await asyncio.to_thread(deliver, notifying_factory, "inference.job.progress.v2", {"job_id": job["id"], "step": 5, "total_steps": 20, "phase": "generating", "preview": PREVIEW}, "inference")
        assert store.get(key) == PREVIEW.encode() and 0 < store.ttl(key) <= 900
        events, comments = [], []
        async with client.stream("GET", f"/api/v1/jobs/{job['id']}/events", params={"access_token": token}) as response:
            reader = asyncio.create_task(read_events(response, events, comments))
            # Opened mid-job: the snapshot, then the newest preview so far.
            await wait_for(lambda: len(events) >= 2)
            assert events[0][0] == "job" and events[0][1]["step"] == 5
            assert events[1] == ("preview", {"job_id": job["id"], "step": 5, "image": PREVIEW})
            newer = PREVIEW.replace("AAD", "AAE")
            await asyncio.to_thread(deliver, notifying_factory, "inference.job.progress.v2", {"job_id": job["id"], "step": 9, "total_steps": 20, "preview": newer}, "inference")
            await wait_for(lambda: ("preview", {"job_id": job["id"], "step": 9, "image": newer}) in events)
            # An older step's preview (reordered events) changes nothing and is not sent.
            await asyncio.to_thread(deliver, notifying_factory, "inference.job.progress.v2", {"job_id": job["id"], "step": 7, "total_steps": 20, "preview": PREVIEW}, "inference")
            images = [{"key": f"jobs/{job['id']}/0.png", "seed": 7, "width": 64, "height": 64, "content_type": "image/png"}]
            await asyncio.to_thread(deliver, notifying_factory, "inference.job.succeeded.v1", {"job_id": job["id"], "images": images, "timings_ms": {}, "finished_at": now}, "inference")
            await asyncio.wait_for(reader, 10)
        assert [e[0] for e in events] == ["job", "preview", "job", "preview", "job"]
        assert events[-1][1]["status"] == "succeeded"
    assert store.get(key) is None, "the job's end removes its preview"
    store.close()
    with sync_engine.connect() as conn:
        row = conn.execute(text("SELECT to_jsonb(j)::text FROM jobs j WHERE id = :id"), {"id": job["id"]}).scalar_one()
    assert "data:image" not in row


def unsigned(job: dict) -> dict:
    return {**job, "images": [{**image, "url": image["url"].split("?")[0]} for image in job["images"]]}


async def test_a_job_end_carried_by_its_notice_is_sent_without_reading_the_job(base_url, make_token, settings):
    """The notice of the transaction that ended a job carries the job: its streams send that.
    Shown with a notice whose ending the database does not have (the job is still queued)."""
    import uuid

    import redis.asyncio as aioredis

    from app.adapters.jobs_repo import JobView
    from app.adapters.notify import channel_for, notice

    token = make_token(tier="pro")
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        job = (await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": f"Bearer {token}"})).json()
        ended = JobView(
            id=uuid.UUID(job["id"]), status="failed", step=None, total_steps=None, progress=0.0,
            error_code="worker_crashed", error_message="carried by the notice", params=job["params"],
            created_at=datetime.fromisoformat(job["created_at"]), started_at=None,
            finished_at=datetime.now(timezone.utc), request_fingerprint=None, queue_position=None,
        )
        publisher = aioredis.from_url(settings.atelier_redis_url)
        events, comments = [], []
        try:
            async with client.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers={"Authorization": f"Bearer {token}"}) as response:
                reader = asyncio.create_task(read_events(response, events, comments))
                await wait_for(lambda: len(events) == 1)
                await publisher.publish(channel_for(settings.atelier_redis_prefix, job["id"]), notice(None, ended))
                await asyncio.wait_for(reader, 10)
        finally:
            await publisher.aclose()
        assert [e[1]["status"] for e in events] == ["queued", "failed"]
        assert events[-1][1]["error"] == {"code": "worker_crashed", "message": "carried by the notice"}
        # The database never had that ending; a read still shows the job queued.
        read = await client.get(f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"})
        assert read.json()["status"] == "queued"


async def test_stream_needs_a_token_and_my_own_job(base_url, make_token):
    token = make_token(tier="pro")
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        job = (await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": f"Bearer {token}"})).json()
        assert (await client.get(f"/api/v1/jobs/{job['id']}/events")).status_code == 401
        assert (await client.get(f"/api/v1/jobs/{job['id']}/events", params={"access_token": "forged"})).status_code == 401
        other = await client.get(f"/api/v1/jobs/{job['id']}/events", headers={"Authorization": f"Bearer {make_token()}"})
        assert other.status_code == 404
        canceled = await client.delete(f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"})
        assert canceled.status_code == 202
        # A finished job: one snapshot, then the stream ends.
        done = await client.get(f"/api/v1/jobs/{job['id']}/events", headers={"Authorization": f"Bearer {token}"})
        assert done.text.count("event: job") == 1 and '"status":"canceled"' in done.text


async def test_without_redis_the_stream_and_submit_answer_503(client, settings, verifier, make_token):
    token = {"Authorization": f"Bearer {make_token(tier='pro')}"}
    job = (await client.post("/api/v1/jobs", json=JOB, headers=token)).json()
    # Nothing listens on port 1: every Redis call of this app fails.
    broken = create_app(settings.model_copy(update={"atelier_redis_url": "redis://127.0.0.1:1/0"}), verifier=verifier)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=broken), base_url="http://pre-inference.test") as other:
            stream = await other.get(f"/api/v1/jobs/{job['id']}/events", headers=token)
            assert stream.status_code == 503 and stream.json()["error"]["code"] == "service_unavailable"
            assert stream.headers["retry-after"] == "5"
            submit = await other.post("/api/v1/jobs", json=JOB, headers=token)
            assert submit.status_code == 503 and submit.json()["error"]["code"] == "service_unavailable"
            # Reads do not need Redis.
            assert (await other.get(f"/api/v1/jobs/{job['id']}", headers=token)).json()["status"] == "queued"
    finally:
        await broken.state.job_changes.close()
        await broken.state.engine.dispose()
