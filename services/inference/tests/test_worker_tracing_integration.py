"""The worker continues the trace its job message carries: one ``inference.job`` span per job,
and every event about the job (started, progress, outcome) carries that span's context."""
from __future__ import annotations

import time

import pytest
from atelier_kit import tracing

from .test_worker_integration import collect, is_outcome, job_envelope, publish_job, start_worker  # noqa: F401

pytestmark = pytest.mark.integration


def job_span(exporter, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [span for span in exporter.get_finished_spans() if span.name == "inference.job"]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the worker made no inference.job span")


def test_job_events_continue_the_requests_trace(broker, start_worker, amqp_url):  # noqa: F811
    connection, channel, events = broker
    with tracing.recording("inference") as exporter:
        with tracing.start_span("POST /api/jobs", kind="server") as request:
            job = job_envelope(steps=2, width=64, height=64)
        start_worker()
        publish_job(amqp_url, job)
        seen = collect(connection, channel, events, is_outcome)
        span = job_span(exporter)
    trace_id = f"{request.get_span_context().trace_id:032x}"
    assert span.context.trace_id == request.get_span_context().trace_id
    assert span.parent.span_id == request.get_span_context().span_id
    expected = f"00-{trace_id}-{span.context.span_id:016x}-{int(span.context.trace_flags):02x}"
    assert {event["trace"]["traceparent"] for event in seen} == {expected}
    assert seen[-1]["type"] == "inference.job.succeeded"


def test_without_tracing_job_events_have_no_trace(broker, start_worker, amqp_url):  # noqa: F811
    connection, channel, events = broker
    start_worker()
    publish_job(amqp_url, job_envelope(steps=2, width=64, height=64))
    seen = collect(connection, channel, events, is_outcome)
    assert all("trace" not in event for event in seen)
