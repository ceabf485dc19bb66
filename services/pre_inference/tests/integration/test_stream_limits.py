"""Event streams cannot exhaust the process: one user holds at most
PRE_INFERENCE_MAX_STREAMS_PER_USER open (429 too_many_streams beyond, with Retry-After),
others are unaffected, a closed stream gives its slot back, and an idle stream holds no
database connection. Through a real HTTP server, as in test_sse."""
import asyncio
import contextlib
import socket
import uuid

import httpx
import pytest
import uvicorn

from app.main import create_app

pytestmark = pytest.mark.integration
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 1}
CAP = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def server(settings, verifier):
    app = create_app(settings.model_copy(update={"pre_inference_max_streams_per_user": CAP, "pre_inference_sse_keepalive_s": 0.2}), verifier=verifier)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    await task


async def wait_for(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_one_user_holds_at_most_the_cap_and_others_are_served(server, make_token):
    base_url, app = server
    hog, bystander = str(uuid.uuid4()), str(uuid.uuid4())
    hog_auth = {"Authorization": f"Bearer {make_token(sub=hog, tier='pro')}"}
    other_auth = {"Authorization": f"Bearer {make_token(sub=bystander, tier='pro')}"}
    limits = httpx.Limits(max_connections=CAP + 5, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=20, limits=limits) as client, contextlib.AsyncExitStack() as streams:
        job = (await client.post("/api/v1/jobs", json=JOB, headers=hog_auth)).json()
        other_job = (await client.post("/api/v1/jobs", json=JOB, headers=other_auth)).json()
        opened = []
        for _ in range(CAP):
            response = await streams.enter_async_context(client.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=hog_auth))
            assert response.status_code == 200
            opened.append(response)
        # Bounded: without a cap this would be one more endless stream.
        refused = await asyncio.wait_for(client.get(f"/api/v1/jobs/{job['id']}/events", headers=hog_auth), 10)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_streams" and int(refused.headers["retry-after"]) > 0
        # A stream of another job counts too: the cap is the user's, not the job's.
        second = (await client.post("/api/v1/jobs", json={**JOB, "prompt": "another"}, headers=hog_auth))
        assert second.status_code in (202, 429)
        # The streams are idle (keepalives only): none of them holds a database connection.
        await asyncio.sleep(0.5)
        assert app.state.engine.pool.checkedout() == 0
        # Someone else is served at once, streams included.
        async with client.stream("GET", f"/api/v1/jobs/{other_job['id']}/events", headers=other_auth) as theirs:
            assert theirs.status_code == 200
        assert (await client.get("/api/v1/jobs", headers=other_auth)).status_code == 200
        # Closing one gives its slot back.
        await opened[0].aclose()
        await wait_for(lambda: app.state.stream_slots.held_by(uuid.UUID(hog)) < CAP)
        async with client.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=hog_auth) as again:
            assert again.status_code == 200


async def test_refused_and_finished_streams_give_their_slots_back(server, make_token):
    base_url, app = server
    user = str(uuid.uuid4())
    auth = {"Authorization": f"Bearer {make_token(sub=user, tier='pro')}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        for _ in range(CAP + 2):  # somebody else's (or no) job: 404, and no slot kept
            assert (await client.get(f"/api/v1/jobs/{uuid.uuid4()}/events", headers=auth)).status_code == 404
        job = (await client.post("/api/v1/jobs", json=JOB, headers=auth)).json()
        assert (await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth)).status_code == 202
        for _ in range(CAP + 2):  # a finished job: one snapshot, the stream ends, the slot comes back
            done = await client.get(f"/api/v1/jobs/{job['id']}/events", headers=auth)
            assert done.status_code == 200 and done.text.count("event: job") == 1
        await wait_for(lambda: app.state.stream_slots.held_by(uuid.UUID(user)) == 0)
