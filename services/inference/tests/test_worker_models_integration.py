"""A worker announces what it serves (inference.worker.heartbeat) and serves several models."""
from __future__ import annotations

import json
import time

import pytest

from atelier_contracts import decode
from atelier_messaging.topology import EVENTS_EXCHANGE

from .test_worker_features_integration import run_worker  # noqa: F401 - the fixture
from .test_worker_integration import collect, is_outcome, job_envelope, publish_job

pytestmark = pytest.mark.integration


@pytest.fixture
def heartbeats(broker):
    connection, channel, _events = broker
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    for version in (1, 2, 3):  # v2 since LoRAs, v3 since pools; each is a heartbeat
        channel.queue_bind(queue=queue, exchange=EVENTS_EXCHANGE, routing_key=f"inference.worker.heartbeat.v{version}")
    return queue


def next_heartbeat(connection, channel, queue, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            return decode(body)  # validated against the contract
        connection.process_data_events(time_limit=0.1)
    raise AssertionError("no heartbeat")


def test_a_worker_announces_its_models_at_start_and_every_interval(broker, heartbeats, run_worker, tiny_model_dir):
    connection, channel, _events = broker
    run_worker(heartbeat_every_s=0.5, models=f"sd-again={tiny_model_dir}")
    first = next_heartbeat(connection, channel, heartbeats)
    data = first.data
    assert data["worker"] == "feature-worker" and data["device"] == "cpu" and data["interval_s"] == 0.5
    assert data["memory"]["total_bytes"] > 0
    by_name = {model["name"]: model for model in data["models"]}
    assert list(by_name) == ["default", "sd-again"]
    assert by_name["default"]["loaded"] is True and by_name["sd-again"]["loaded"] is False
    assert by_name["default"]["family"] == "sd1" and by_name["default"]["limits"]["native_size"] == 512
    second = next_heartbeat(connection, channel, heartbeats)
    assert second.data["sent_at"] > first.data["sent_at"]


def test_one_worker_serves_models_of_several_families(broker, heartbeats, run_worker, tiny_family_dir, tiny_model_dir,
                                                     amqp_url, monkeypatch):
    connection, channel, events = broker
    # "default" is unloaded under the budget and loaded again from ATELIER_MODEL: the session's
    # tiny model, not the checkout's var/models (which a fresh clone has not made yet).
    monkeypatch.setenv("ATELIER_MODEL", str(tiny_model_dir))
    run_worker(heartbeat_every_s=0.5, models=f"flux={tiny_family_dir('flux')},sdxl={tiny_family_dir('sdxl')}",
               model_memory_budget_mb=1)
    # Published one at a time, so each loads the model the previous one unloaded (a 1 MiB budget).
    seen_loaded = []
    for name, guidance in (("flux", 3.5), ("sdxl", 5.0), ("default", 7.5)):
        job = job_envelope(model=name, guidance=guidance)
        publish_job(amqp_url, job)
        outcome = collect(connection, channel, events, is_outcome, timeout=120)[-1]
        assert outcome["type"] == "inference.job.succeeded", outcome
        assert outcome["data"]["timings_ms"]["load"] > 0, f"{name} was loaded for its job"
        beat = next_heartbeat(connection, channel, heartbeats)
        while not any(m["loaded"] for m in beat.data["models"] if m["name"] == name):
            beat = next_heartbeat(connection, channel, heartbeats)
        seen_loaded.append([m["name"] for m in beat.data["models"] if m["loaded"]])
    assert seen_loaded == [["flux"], ["sdxl"], ["default"]], "least recently used out first, under the budget"


def test_a_job_for_a_model_the_worker_lacks_fails_as_model_unavailable(broker, run_worker, amqp_url):
    connection, channel, events = broker
    run_worker()
    publish_job(amqp_url, job_envelope(model="sd9000"))
    outcome = collect(connection, channel, events, is_outcome)[-1]
    assert outcome["data"]["reason_code"] == "model_unavailable" and "sd9000" in outcome["data"]["message"]
