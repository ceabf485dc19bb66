"""The deploy tier: the images built, the compose stack started with podman, and the platform
used through its gateway as a person would, with the images landing in the stack's S3 store.
The worker container is killed in the middle of a job; the job still ends once, with its
images. Everything the stack made (containers, network, volumes, its folder) is removed at
the end; the images stay, as the engine's build cache.

    make test-deploy
"""
from __future__ import annotations

import json
import time

import httpx
import pytest

from atelier_devkit.platform import free_port
from atelier_devkit.stack import ENGINES, LONG_RUNNING, ONE_SHOTS, PROJECT, ROOT, Stack
from e2e.flows import eventually, verified_user

pytestmark = pytest.mark.deploy
STACK_DIR = ROOT / "var" / "stack-test"
JOB_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def stack():
    import os

    env = {**os.environ, "STACK_DIR": str(STACK_DIR.relative_to(ROOT)), "STACK_PROJECT": PROJECT,
           "STACK_HTTP_PORT": str(free_port()), "ATELIER_MAIL_HOST_DIR": str(STACK_DIR / "mail")}
    running = Stack(port=int(env["STACK_HTTP_PORT"]), directory=STACK_DIR, env=env)
    running.script("destroy", timeout=300)  # what an interrupted earlier run left
    started = time.monotonic()
    up = running.script("up", timeout=1500)
    print(up.stdout[-4000:], up.stderr[-4000:])
    if up.returncode != 0:
        log = STACK_DIR / "up.log"
        detail = log.read_text()[-6000:] if log.exists() else "(no up.log)"
        running.script("destroy", timeout=300)
        pytest.fail(f"stack.sh up failed:\n{up.stdout[-2000:]}\n{up.stderr[-3000:]}\n--- up.log ---\n{detail}")
    print(f"stack built and ready in {time.monotonic() - started:.0f} s")
    yield running
    (ROOT / "test-results").mkdir(exist_ok=True)
    (ROOT / "test-results" / "deploy-inference.log").write_text(running.logs("inference"))
    down = running.script("destroy", timeout=300)
    assert down.returncode == 0, down.stderr
    left = running.engine("ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}", "--format", "{{.Names}}")
    assert left.stdout.strip() == "", f"containers left behind: {left.stdout}"
    volumes = running.engine("volume", "ls", "--format", "{{.Name}}")
    assert not [v for v in volumes.stdout.split() if v.startswith(PROJECT)], volumes.stdout
    assert not STACK_DIR.exists()


@pytest.fixture(scope="module")
def client(stack):
    with httpx.Client(base_url=stack.base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def user(client, stack):
    return verified_user(client, stack.mail_dir, prefix="deploy")


def wait_for_job(client, job_id, headers, timeout=JOB_TIMEOUT_S):
    def ended():
        body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        return body if body["status"] in ("succeeded", "failed", "canceled") else None
    return eventually(ended, f"job {job_id} to end", timeout=timeout, interval=0.5)


def stored_keys(stack, job_id: str) -> list[str]:
    """The objects under the job's images in the stack's S3 store, asked from inside the network."""
    code = ("import json; from atelier_storage.s3 import S3Storage; s = S3Storage.from_env(); "
            f"r = s.client.list_objects_v2(Bucket=s.bucket, Prefix=s.prefix + 'images/{job_id}/'); "
            "print(json.dumps(sorted(o['Key'] for o in r.get('Contents', []))))")
    return json.loads(stack.exec_python("pre-inference", code))


def test_every_process_runs_and_the_one_shots_succeeded(stack):
    for service in LONG_RUNNING + ENGINES:
        stack.wait_healthy(service)
    for service in ONE_SHOTS:
        state = stack.inspect(service)["State"]
        assert not state["Running"] and state["ExitCode"] == 0, (service, state)


def test_only_the_gateway_publishes_a_port(stack):
    published = {}
    for service in LONG_RUNNING + ENGINES:
        ports = stack.inspect(service)["HostConfig"].get("PortBindings") or {}
        if any(bindings for bindings in ports.values()):
            published[service] = ports
    assert list(published) == ["gateway"], published


def test_atelier_containers_are_non_root_with_a_read_only_root(stack):
    for service in LONG_RUNNING:
        info = stack.inspect(service)
        assert info["Config"]["User"] == "10001", (service, info["Config"]["User"])
        assert info["HostConfig"]["ReadonlyRootfs"] is True, service


def test_sign_up_verify_and_generate_through_the_gateway_into_s3(client, stack, user):
    assert client.get("/").status_code == 200  # the SPA, built into the gateway image
    submitted = client.post("/api/v1/jobs", headers=user["headers"], json={
        "kind": "txt2img", "prompt": "a lighthouse in a container", "width": 256, "height": 256, "steps": 4, "seed": 7})
    assert submitted.status_code == 202, submitted.text
    final = wait_for_job(client, submitted.json()["id"], user["headers"])
    assert final["status"] == "succeeded", final
    [image] = final["images"]
    png = client.get(image["url"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert stored_keys(stack, final["id"]) == [f"atelier/images/{final['id']}/0.png"]


def test_a_worker_killed_mid_job_leaves_the_job_to_finish_once_after_its_restart(client, stack, user):
    submitted = client.post("/api/v1/jobs", headers=user["headers"], json={
        "kind": "txt2img", "prompt": "a long job interrupted", "width": 512, "height": 512, "steps": 30, "n": 1, "seed": 11})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]

    def running():
        body = client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json()
        assert body["status"] not in ("succeeded", "failed"), f"the job ended before the kill: {body}"
        return body if body["status"] == "running" and (body.get("step") or 0) >= 1 else None
    eventually(running, "the job to be running", timeout=120, interval=0.05)
    worker = stack.container("inference")
    killed = stack.engine("kill", "--signal", "KILL", worker)
    assert killed.returncode == 0, killed.stderr
    mid = client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json()
    assert mid["status"] in ("queued", "running"), mid
    assert stack.engine("start", worker).returncode == 0

    final = wait_for_job(client, job_id, user["headers"])
    assert final["status"] == "succeeded", final
    assert len(final["images"]) == 1
    assert stored_keys(stack, job_id) == [f"atelier/images/{job_id}/0.png"]
    # Once: the restarted worker took the interrupted delivery as attempt 2 and ran it to one end.
    lines = [json.loads(line) for line in stack.logs("inference").splitlines()
             if line.startswith("{") and job_id in line]
    messages = [line.get("message", line.get("msg", "")) for line in lines]
    assert sum("interrupted on attempt 1" in m for m in messages) == 1, messages
    assert sum(m.startswith("job started (attempt 2") for m in messages) == 1, messages
    assert sum(m.startswith("job started") for m in messages) == 2, messages


def test_sigterm_stops_the_worker_and_an_api_gracefully(stack):
    for service in ("inference", "gateway"):
        started = time.monotonic()
        stopped = stack.engine("stop", "--time", "60", stack.container(service), timeout=90)
        assert stopped.returncode == 0, stopped.stderr
        state = stack.inspect(service)["State"]
        assert state["ExitCode"] == 0, (service, state)
        assert time.monotonic() - started < 45, f"{service} took {time.monotonic() - started:.0f} s to stop"
        assert stack.engine("start", stack.container(service)).returncode == 0
