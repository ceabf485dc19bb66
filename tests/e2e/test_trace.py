"""One trace follows a job across every process it passes through (issue 11: "one trace spans
a job from HTTP to the worker and back").

The session's platform exports its spans over OTLP/HTTP to a collector of the test's own
(tests/conftest.py). A job submitted through the gateway and followed on its event stream
must leave one connected trace: the gateway's request, pre_inference's admission, the relay
that publishes the outbox row, the worker's job and the outcome it publishes, the consumer
that applies the outcome, the relay of ``pre_inference.job.finished``, and the stream update
that tells the client.
"""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .flows import eventually, verified_user

pytestmark = pytest.mark.e2e
TERMINAL = {"succeeded", "failed", "canceled"}


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def user(client, platform):
    return verified_user(client, Path(platform["env"]["ATELIER_MAIL_DIR"]), prefix="trace")


def follow(client: httpx.Client, job_id: str, headers: dict) -> list[str]:
    """The statuses the job's event stream sends, until a terminal one."""
    statuses: list[str] = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data:"):
                statuses.append(json.loads(line[5:])["status"])
                if statuses[-1] in TERMINAL:
                    return statuses
    return statuses


def submit_and_follow(client: httpx.Client, headers: dict) -> tuple[str, list[str]]:
    """A job the stream sees change at least once (one that ended before the stream opened
    would be sent from the stream's first read, which no notice caused)."""
    for _ in range(3):
        submitted = client.post("/api/v1/jobs", headers=headers, json={
            "kind": "txt2img", "prompt": "a traced lighthouse", "width": 128, "height": 128, "steps": 8, "seed": 7})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        statuses = follow(client, job_id, headers)
        assert statuses[-1] == "succeeded", statuses
        if statuses[0] not in TERMINAL:
            return job_id, statuses
    pytest.fail("every job had ended before its stream opened")


def describe(spans) -> str:
    return "\n".join(f"  {s.service}/{s.process} {s.kind} {s.name!r} {s.span_id} <- {s.parent_span_id}"
                     for s in sorted(spans, key=lambda s: s.start_ns))


def test_one_trace_follows_a_job_from_the_request_to_the_worker_and_back_to_its_stream(client, user, platform):
    collector = platform["spans"]
    job_id, statuses = submit_and_follow(client, user["headers"])

    [worker_span] = eventually(
        lambda: [s for s in collector.spans() if s.name == "inference.job" and s.attributes.get("atelier.job_id") == job_id],
        f"the worker's span of job {job_id}", timeout=30)
    trace_id = worker_span.trace_id

    def hop(service: str, process: str, kind: str, name: str | None = None, path: str | None = None):
        def find(spans):
            return [s for s in spans if (s.service, s.process, s.kind) == (service, process, kind)
                    and (name is None or s.name == name) and (path is None or s.attributes.get("url.path") == path)]
        return find

    # In the order the job travels; each is one process's part.
    hops = {
        "the gateway's request": hop("gateway", "api", "server", path="/api/v1/jobs"),
        "pre_inference's admission": hop("pre_inference", "api", "server", "POST /api/v1/jobs"),
        "the relay publishing the job": hop("pre_inference", "relay", "producer", "relay inference.job.requested.v1"),
        "the worker's job": hop("inference", "worker", "consumer", "inference.job"),
        "the worker publishing its outcome": hop("inference", "worker", "producer", "publish inference.job.succeeded.v1"),
        "the consumer applying the outcome": hop("pre_inference", "consumer", "consumer", "consume inference.job.succeeded.v1"),
        "the relay publishing job.finished": hop("pre_inference", "relay", "producer", "relay pre_inference.job.finished.v1"),
        "the stream telling the client": hop("pre_inference", "api", "consumer", "job stream update"),
    }

    def complete():
        spans = collector.trace(trace_id)
        return spans if all(find(spans) for find in hops.values()) else None

    try:
        spans = eventually(complete, f"every hop of job {job_id} in trace {trace_id}", timeout=30)
    except pytest.fail.Exception:
        spans = collector.trace(trace_id)
        missing = [what for what, find in hops.items() if not find(spans)]
        pytest.fail(f"trace {trace_id} lacks {missing}; it holds:\n{describe(spans)}")

    # One connected tree: every span's parent is in the trace, and its only root is the
    # gateway's request (the edge starts the trace; it never adopts a caller's).
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if s.parent_span_id is None]
    orphans = [s for s in spans if s.parent_span_id is not None and s.parent_span_id not in by_id]
    assert not orphans, f"spans whose parent is not in the trace:\n{describe(orphans)}\nthe trace:\n{describe(spans)}"
    assert roots == hops["the gateway's request"](spans), describe(spans)

    # The stream's update that carried the terminal state continues the consumer's change.
    updates = hops["the stream telling the client"](spans)
    assert "succeeded" in {s.attributes.get("atelier.job_status") for s in updates}, (statuses, describe(updates))
    consumer_span_ids = {s.span_id for s in hops["the consumer applying the outcome"](spans)}
    finished_update = next(s for s in updates if s.attributes.get("atelier.job_status") == "succeeded")
    assert finished_update.parent_span_id in consumer_span_ids
    assert not [s for s in spans if s.error], describe([s for s in spans if s.error])


def test_a_callers_traceparent_is_linked_never_adopted(client, user, platform):
    """A public caller may not choose our trace ids: the gateway starts a new trace that links
    to the one the caller sent."""
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client.get("/api/v1/jobs", headers={**user["headers"], "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"})
    assert response.status_code == 200
    collector = platform["spans"]
    [edge] = eventually(
        lambda: [s for s in collector.spans() if s.service == "gateway" and caller_trace in s.links],
        "the gateway's span linking the caller's trace", timeout=30)
    assert edge.trace_id != caller_trace and edge.parent_span_id is None
    assert not [s for s in collector.spans() if s.trace_id == caller_trace]
