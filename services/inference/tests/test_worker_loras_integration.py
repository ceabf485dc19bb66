"""A worker with ATELIER_LORA_DIR: it announces its LoRAs and applies them per job (v2 jobs)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from atelier_contracts import make_envelope
from atelier_inference.pipeline import load_pipeline
from atelier_inference.tiny_model import build_lora

from .test_worker_features_integration import run_worker  # noqa: F401 - the fixture
from .test_worker_integration import collect, is_outcome, job_envelope, publish_job
from .test_worker_models_integration import heartbeats, next_heartbeat  # noqa: F401 - heartbeats: the fixture

pytestmark = pytest.mark.integration


def with_lora(envelope, name: str, weight: float):
    """The same job as a v2 message naming a LoRA."""
    data = {**envelope.data, "params": {**envelope.data["params"], "loras": [{"name": name, "weight": weight}]}}
    return make_envelope("inference.job.requested", 2, data, producer="pre_inference", correlation_id="req-test")


def picture(storage, outcome) -> np.ndarray:
    key = outcome["data"]["images"][0]["key"]
    return np.asarray(Image.open(io.BytesIO(storage.get_bytes(key))).convert("RGB"), dtype=np.int16)


def test_a_lora_job_differs_and_the_next_job_without_one_is_the_plain_models(
        broker, heartbeats, run_worker, tiny_model_dir, amqp_url, tmp_path):
    connection, channel, events = broker
    build_lora(tiny_model_dir, tmp_path / "loras" / "tiny-lora.safetensors")
    # A pipeline of this test's own: the session's shared one stays without adapters.
    _worker, storage = run_worker(model=load_pipeline(str(tiny_model_dir), "cpu"), lora_dir=str(tmp_path / "loras"),
                                  heartbeat_every_s=0.5)
    beat = next_heartbeat(connection, channel, heartbeats)
    assert beat.version == 3 and beat.data["loras"] == [{"name": "tiny-lora", "family": "sd1"}]

    results = []
    for envelope in (job_envelope(seed=99), with_lora(job_envelope(seed=99), "tiny-lora", 1.0), job_envelope(seed=99),
                     with_lora(job_envelope(seed=99), "missing", 1.0)):
        publish_job(amqp_url, envelope)
        results.append(collect(connection, channel, events, is_outcome, timeout=120)[-1])
    baseline, styled, after, missing = results
    assert [r["type"] for r in results[:3]] == ["inference.job.succeeded"] * 3, results
    assert np.abs(picture(storage, styled) - picture(storage, baseline)).mean() > 1.0
    assert np.array_equal(picture(storage, after), picture(storage, baseline))
    assert missing["type"] == "inference.job.failed" and missing["data"]["reason_code"] == "invalid_params"
    assert "missing" in missing["data"]["message"]
