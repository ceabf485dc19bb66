"""Crash safety with the worker as a real process: SIGKILL mid-job, and a job that kills every worker."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atelier_messaging.topology import JOBS_QUEUE, dead_queue

from .test_worker_integration import collect, get_dead, is_outcome, job_envelope, publish_job

pytestmark = pytest.mark.integration
CRASH_PROMPT = "__atelier_test_crash__"


@pytest.fixture
def spawn(amqp_url, tiny_model_dir, tmp_path):
    processes = []

    def start(name: str, **env: str) -> subprocess.Popen:
        environment = {**os.environ, "ATELIER_ENV": "test", "ATELIER_AMQP_URL": amqp_url,
                       "ATELIER_MODEL": str(tiny_model_dir), "ATELIER_STORAGE_DIR": str(tmp_path / "storage"),
                       "ATELIER_WORKER_NAME": name, "ATELIER_TEST_CRASH_PROMPT": CRASH_PROMPT, **env}
        process = subprocess.Popen([sys.executable, "-m", "atelier_inference"], cwd=Path(__file__).parents[1],
                                   env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_worker_killed_mid_job_hands_it_to_the_next_which_finishes_it_once(broker, spawn, amqp_url, tmp_path):
    connection, channel, events = broker
    first = spawn("worker-1")
    # Long enough that the kill lands mid-job: the worker settles a job the moment it ends, so a
    # job done between its first progress event and the kill would be worker-1's, not handed on.
    job = job_envelope(width=128, height=128, steps=150)
    publish_job(amqp_url, job)
    seen = collect(connection, channel, events, lambda t: t == "inference.job.progress", timeout=120)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    spawn("worker-2", ATELIER_PRELOAD_MODEL="0")  # as if scaled up from zero: loads with its first job
    seen += collect(connection, channel, events, is_outcome, timeout=300)
    # Nothing more may follow: the job ran to an outcome exactly once.
    time.sleep(2)
    extra = channel.basic_get(events, auto_ack=True)
    while extra[0] is not None:
        seen.append(json.loads(extra[2]))
        extra = channel.basic_get(events, auto_ack=True)

    mine = [e for e in seen if e["data"]["job_id"] == job.data["job_id"]]
    starts = [(e["data"]["worker"], e["data"]["attempt"]) for e in mine if e["type"] == "inference.job.started"]
    assert starts == [("worker-1", 1), ("worker-2", 2)]
    outcomes = [e for e in mine if is_outcome(e["type"])]
    assert [e["type"] for e in outcomes] == ["inference.job.succeeded"]
    assert outcomes[0]["data"]["timings_ms"]["load"] > 0
    after_restart = mine[[e["type"] for e in mine].index("inference.job.started", 1):]
    assert after_restart[1]["type"] == "inference.job.progress" and after_restart[1]["data"]["phase"] == "loading"
    stored = sorted(p.name for p in (tmp_path / "storage" / "images" / job.data["job_id"]).iterdir())
    assert stored == ["0.png", "0.png.meta.json"]
    assert channel.queue_declare(JOBS_QUEUE, passive=True).method.message_count == 0
    assert channel.queue_declare(dead_queue(JOBS_QUEUE), passive=True).method.message_count == 0


def test_a_job_that_kills_every_worker_is_dead_lettered_and_failed(broker, spawn, amqp_url):
    connection, channel, events = broker
    job = job_envelope(prompt=CRASH_PROMPT)
    publish_job(amqp_url, job)
    spawned = []
    seen: list[dict] = []
    deadline = time.monotonic() + 240
    while not any(is_outcome(e["type"]) for e in seen):
        assert time.monotonic() < deadline, f"no outcome; saw {[e['type'] for e in seen]}"
        assert len(spawned) < 5, "the poison job was not given up after a bounded number of tries"
        process = spawn(f"worker-{len(spawned) + 1}", ATELIER_MAX_JOB_ATTEMPTS="2")
        spawned.append(process)
        # Either it dies on the job (137), or it reports the job given up and keeps serving.
        while process.poll() is None and not any(is_outcome(e["type"]) for e in seen):
            try:
                seen += collect(connection, channel, events, lambda t: True, timeout=1)
            except AssertionError:
                pass  # nothing this second
            assert time.monotonic() < deadline, "timed out"
    assert [p.returncode for p in spawned[:-1]] == [137, 137]
    assert spawned[-1].poll() is None, "the worker that gave the job up keeps serving"
    failed = [e for e in seen if is_outcome(e["type"])]
    assert [(e["type"], e["data"]["reason_code"]) for e in failed] == [("inference.job.failed", "worker_crashed")]
    assert [e["data"]["attempt"] for e in seen if e["type"] == "inference.job.started"] == [1, 2]
    props, body = get_dead(connection, channel)
    assert json.loads(body)["id"] == job.id and props.headers["x-atelier-attempts"] == 2
