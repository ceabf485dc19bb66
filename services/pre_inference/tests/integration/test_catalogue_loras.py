"""LoRA adapters in the catalogue: workers announce them (heartbeat v2), GET /api/v1/models lists
them per model, and submit refuses a job naming one the model's workers lack."""
import json
from datetime import datetime, timezone

import pytest

from atelier_contracts import decode

from .helpers import deliver, iso
from .test_model_catalogue import JOB, SCHNELL, SD1, age, auth, empty_catalogue, factory, models_of  # noqa: F401 - fixtures
from .test_submit import outbox_for

pytestmark = pytest.mark.integration

LORAS = [{"name": "watercolor", "family": "sd1"}, {"name": "ink", "family": "sd1"}, {"name": "realism", "family": "flux"}]


def heartbeat(factory, models, loras, *, worker="gpu-0:1"):
    data = {"worker": worker, "device": "cpu", "interval_s": 10,
            "memory": {"total_bytes": None, "used_bytes": None, "models_bytes": 0, "budget_bytes": None},
            "models": models, "sent_at": iso(datetime.now(timezone.utc))}
    if loras is not None:
        data["loras"] = loras
    return deliver(factory, "inference.worker.heartbeat.v2", data, producer="inference")


def lora_job(*loras, model="default", **extra):
    return {**JOB, "model": model, "loras": [{"name": name, "weight": weight} for name, weight in loras], **extra}


async def test_each_model_lists_its_familys_loras_that_every_live_worker_has(client, make_token, factory, db):
    heartbeat(factory, [SD1, SCHNELL], LORAS, worker="a")
    heartbeat(factory, [SD1], LORAS[1:], worker="b")
    listed = await models_of(client, make_token())
    assert listed["default"]["loras"] == ["ink"], "only what both workers serving it have"
    assert listed["flux-schnell"]["loras"] == ["realism"]
    age(db, "b", 60)  # worker b is gone: a's LoRAs are the model's
    assert (await models_of(client, make_token()))["default"]["loras"] == ["ink", "watercolor"]


async def test_a_v1_heartbeat_and_a_v2_one_without_loras_offer_none(client, make_token, factory):
    heartbeat(factory, [SD1], None)
    assert (await models_of(client, make_token()))["default"]["loras"] == []


async def test_a_job_with_loras_is_published_as_v2_and_one_without_as_v1(client, make_token, factory, db):
    heartbeat(factory, [SD1], LORAS)
    response = await client.post("/api/v1/jobs", json=lora_job(("watercolor", 0.8), ("ink", -1)), headers=auth(make_token()))
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    [(_exchange, _key, _priority, body)] = outbox_for(db, job_id, "inference.job.requested.v2")
    message = decode(body if isinstance(body, str) else json.dumps(body))
    assert message.data["params"]["loras"] == [{"name": "watercolor", "weight": 0.8}, {"name": "ink", "weight": -1.0}]
    assert response.json()["params"]["loras"] == message.data["params"]["loras"]
    plain = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token()))
    assert plain.status_code == 202, plain.text
    assert len(outbox_for(db, plain.json()["id"])) == 1 and "loras" not in plain.json()["params"]


@pytest.mark.parametrize("body,code,field", [
    (lora_job(("sepia", 1.0)), "lora_unknown", "loras[0].name"),
    (lora_job(("ink", 1.0), ("realism", 1.0)), "lora_wrong_family", "loras[1].name"),
    (lora_job(("ink", 2.5)), "validation_error", "loras[0].weight"),
    (lora_job(("ink", -2.01)), "validation_error", "loras[0].weight"),
    (lora_job(*[(name, 1.0) for name in ("ink", "watercolor", "a", "b", "c")]), "validation_error", "loras"),
    (lora_job(("ink", 1.0), ("ink", 0.5)), "validation_error", "loras[1].name"),
    (lora_job(("../ink", 1.0)), "validation_error", "loras[0].name"),
    (lora_job(("ink", 1.0), model="flux-schnell", guidance=0.0, steps=4), "lora_wrong_family", "loras[0].name"),
])
async def test_a_lora_the_model_cannot_have_is_refused_naming_the_field(client, make_token, factory, body, code, field):
    heartbeat(factory, [SD1, SCHNELL], LORAS)
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and list(error["fields"]) == [field], error


@pytest.mark.parametrize("loras", ["ink", [{"name": "ink", "weight": "1"}], [{"name": "ink", "weight": 1, "scale": 2}],
                                   [{"weight": 1}]])
async def test_a_malformed_loras_field_is_a_validation_error(client, make_token, factory, loras):
    heartbeat(factory, [SD1], LORAS)
    response = await client.post("/api/v1/jobs", json={**JOB, "loras": loras}, headers=auth(make_token()))
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error", response.text


async def test_before_any_worker_announced_itself_no_lora_exists(client, make_token):
    response = await client.post("/api/v1/jobs", json=lora_job(("ink", 1.0)), headers=auth(make_token()))
    assert response.status_code == 422 and response.json()["error"]["code"] == "lora_unknown", response.text
