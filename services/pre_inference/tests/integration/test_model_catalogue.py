"""The model catalogue: heartbeats build it, GET /api/v1/models shows it, submit refuses by it."""
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.domain import policy

from .helpers import deliver, iso

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[4] / "packages/atelier_contracts/atelier_contracts/examples/inference.worker.heartbeat/v1.json"
SD1 = json.loads(EXAMPLE.read_text())["data"]["models"][0]
SCHNELL = json.loads(EXAMPLE.read_text())["data"]["models"][1]
FLUX_DEV = {**SCHNELL, "name": "flux-dev", "variant": "base", "loaded": True,
            "limits": {**SCHNELL["limits"], "default_steps": 28, "max_steps": 150, "default_guidance": 3.5, "max_guidance": 10.0}}
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2}


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


@pytest.fixture(autouse=True)
def empty_catalogue(db):
    """Other tests submit "default" with no worker ever heard from: leave them an empty catalogue."""
    db.execute(text("DELETE FROM model_catalogue"))
    db.commit()
    yield
    db.execute(text("DELETE FROM model_catalogue"))
    db.commit()


def heartbeat(factory, models, *, worker="gpu-0:1", sent_at=None, interval_s=10):
    data = {"worker": worker, "device": "cpu", "interval_s": interval_s,
            "memory": {"total_bytes": None, "used_bytes": None, "models_bytes": 0, "budget_bytes": None},
            "models": models, "sent_at": iso(sent_at or datetime.now(timezone.utc))}
    return deliver(factory, "inference.worker.heartbeat.v1", data, producer="inference")


def age(db, worker, seconds):
    db.execute(text("UPDATE model_catalogue SET seen_at = now() - make_interval(secs => :s) WHERE worker = :w"),
               {"s": seconds, "w": worker})
    db.commit()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def models_of(client, token):
    response = await client.get("/api/v1/models", headers=auth(token))
    assert response.status_code == 200, response.text
    return {model["name"]: model for model in response.json()["models"]}


async def test_states_follow_the_heartbeats(client, make_token, factory, db):
    heartbeat(factory, [SD1, SCHNELL], worker="a")
    heartbeat(factory, [{**SCHNELL, "loaded": False}], worker="b")
    listed = await models_of(client, make_token())
    assert [name for name in listed] == ["default", "flux-schnell"], "default first"
    assert listed["default"]["state"] == "ready" and listed["flux-schnell"]["state"] == "cold"
    assert listed["flux-schnell"]["limits"]["negative_prompt"] is False and listed["flux-schnell"]["limits"]["max_steps"] == 8
    assert listed["default"]["tiers"] == ["free", "pro", "partner"] and listed["default"]["allowed"] is True
    age(db, "a", 60)  # three missed heartbeats: worker a is gone
    listed = await models_of(client, make_token())
    assert listed["default"]["state"] == "unavailable" and listed["flux-schnell"]["state"] == "cold"


async def test_a_worker_that_drops_a_model_stops_serving_it_and_old_heartbeats_change_nothing(client, make_token, factory):
    now = datetime.now(timezone.utc)
    heartbeat(factory, [SD1, SCHNELL], sent_at=now)
    heartbeat(factory, [SD1], sent_at=now + timedelta(seconds=10))
    heartbeat(factory, [SD1, SCHNELL], sent_at=now + timedelta(seconds=5))  # reordered: older than what we have
    assert list(await models_of(client, make_token())) == ["default"]


async def test_models_need_a_token(client):
    response = await client.get("/api/v1/models")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


async def test_default_is_admitted_before_any_worker_announced_itself(client, make_token):
    response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token()))
    assert response.status_code == 202, response.text


async def test_a_model_no_worker_ever_served_is_unknown(client, make_token, factory):
    heartbeat(factory, [SD1])
    response = await client.post("/api/v1/jobs", json={**JOB, "model": "sd9000"}, headers=auth(make_token()))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "model_unknown" and "model" in response.json()["error"]["fields"]


async def test_a_model_no_live_worker_serves_is_unavailable(client, make_token, factory, db):
    heartbeat(factory, [SD1, SCHNELL], worker="gone")
    age(db, "gone", 3600)
    response = await client.post("/api/v1/jobs", json={**JOB, "model": "flux-schnell", "guidance": 0.0},
                                 headers=auth(make_token()))
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "model_unavailable" and response.headers["retry-after"] == "30"


async def test_a_cold_model_is_admitted_with_its_family_defaults(client, make_token, factory):
    heartbeat(factory, [SD1, {**SCHNELL, "loaded": False}])
    response = await client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "x", "model": "flux-schnell", "width": 512,
                                                       "height": 512}, headers=auth(make_token()))
    assert response.status_code == 202, response.text
    params = response.json()["params"]
    assert (params["steps"], params["guidance"], params["model"]) == (4, 0.0, "flux-schnell")


@pytest.mark.parametrize("overrides,field", [
    ({"negative_prompt": "blurry"}, "negative_prompt"),
    ({"steps": 9}, "steps"),
    ({"guidance": 2.0}, "guidance"),
    ({"width": 72}, "width"),
    ({"scheduler": "ddim"}, "scheduler"),
])
async def test_parameters_outside_the_family_limits_are_refused_naming_the_field(client, make_token, factory, overrides, field):
    heartbeat(factory, [SD1, SCHNELL])
    body = {**JOB, "model": "flux-schnell", "guidance": 0.0, "steps": 4, **overrides}
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "outside_model_limits" and list(error["fields"]) == [field]


async def test_flux_dev_refuses_a_negative_prompt(client, make_token, factory):
    heartbeat(factory, [SD1, FLUX_DEV])
    response = await client.post("/api/v1/jobs", json={**JOB, "model": "flux-dev", "negative_prompt": "blurry"},
                                 headers=auth(make_token()))
    assert response.status_code == 422 and response.json()["error"]["fields"].keys() == {"negative_prompt"}


async def test_a_size_no_tier_allows_stays_exceeds_tier(client, make_token, factory):
    heartbeat(factory, [SD1])
    response = await client.post("/api/v1/jobs", json={**JOB, "width": 4096}, headers=auth(make_token()))
    assert response.status_code == 422 and response.json()["error"]["code"] == "exceeds_tier"


async def test_a_model_outside_the_callers_tier_is_refused(client, make_token, factory, app):
    enforced: policy.TierPolicy = app.state.tier_policy
    enforced.model_tiers["flux-dev"] = frozenset({"pro", "partner"})
    try:
        heartbeat(factory, [SD1, FLUX_DEV])
        listed = await models_of(client, make_token(tier="free"))
        assert listed["flux-dev"]["tiers"] == ["pro", "partner"] and listed["flux-dev"]["allowed"] is False
        response = await client.post("/api/v1/jobs", json={**JOB, "model": "flux-dev"}, headers=auth(make_token(tier="free")))
        assert response.status_code == 403 and response.json()["error"]["code"] == "model_not_in_plan"
        response = await client.post("/api/v1/jobs", json={**JOB, "model": "flux-dev"},
                                     headers=auth(make_token(sub=str(uuid.uuid4()), tier="pro")))
        assert response.status_code == 202, response.text
    finally:
        enforced.model_tiers.pop("flux-dev")


async def test_where_workers_scale_to_zero_a_model_with_no_live_worker_is_admitted(client, make_token, factory, db, app):
    heartbeat(factory, [SD1], worker="scaled-down")
    age(db, "scaled-down", 3600)
    app.state.settings.pre_inference_admit_unserved_models = True
    try:
        response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token()))
        assert response.status_code == 202, response.text
    finally:
        app.state.settings.pre_inference_admit_unserved_models = False
