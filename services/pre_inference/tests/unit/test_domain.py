import uuid
from datetime import datetime, timedelta, timezone

import pytest
from atelier_contracts import ContractError, validate

from app.domain import events
from app.domain import jobs as rules
from app.domain.lifecycle import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, can_transition, progress_fraction


def test_defaults_fill_everything_the_worker_needs():
    params = rules.build_params({"kind": "txt2img", "prompt": "a fox"}, seed_source=lambda: 42)
    assert params.to_dict() == {
        "kind": "txt2img", "prompt": "a fox", "negative_prompt": "", "width": 512, "height": 512, "steps": 20,
        "guidance": 7.5, "seed": 42, "scheduler": "default", "n": 1, "model": "default",
        "init_image_key": None, "mask_key": None, "strength": 0.75,
    }


def test_explicit_values_win_over_defaults_and_none_means_default():
    params = rules.build_params({"kind": "txt2img", "prompt": "p", "width": 768, "steps": None, "seed": 0})
    assert (params.width, params.steps, params.seed) == (768, 20, 0)


def test_seed_is_drawn_when_absent_and_within_range():
    seeds = {rules.build_params({"kind": "txt2img", "prompt": "p"}).seed for _ in range(20)}
    assert len(seeds) > 1
    assert all(0 <= s <= 2**32 - 1 for s in seeds)


@pytest.mark.parametrize("kind", ["img2img", "inpaint"])
def test_image_kinds_need_an_init_image(kind):
    with pytest.raises(rules.JobRuleError) as caught:
        rules.build_params({"kind": kind, "prompt": "p"})
    assert caught.value.code == "validation_error" and caught.value.field == "init_image"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "inpaint", "init_image": "x"}, "mask"),
        ({"kind": "txt2img", "init_image": "x"}, "init_image"),
        ({"kind": "img2img", "init_image": "x", "mask": "y"}, "mask"),
    ],
)
def test_images_only_where_the_kind_takes_them(body, field):
    with pytest.raises(rules.JobRuleError) as caught:
        rules.build_params({"prompt": "p", **body})
    assert caught.value.field == field


def test_img2img_with_an_image_and_strength():
    params = rules.build_params({"kind": "img2img", "prompt": "p", "init_image": "x", "strength": 0.3})
    assert params.kind == "img2img" and params.strength == 0.3 and params.init_image_key is None


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_blank_prompt_is_refused(prompt):
    with pytest.raises(rules.JobRuleError) as caught:
        rules.build_params({"kind": "txt2img", "prompt": prompt})
    assert caught.value.field == "prompt"


@pytest.mark.parametrize("value,ok", [(64, True), (1024, True), (8192, True), (56, False), (8200, False), (500, False), (0, False)])
def test_side_limits(value, ok):
    if ok:
        assert rules.check_side("width", value) == value
    else:
        with pytest.raises(rules.JobRuleError):
            rules.check_side("width", value)


def test_deadline_is_ten_minutes_by_default():
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert rules.deadline_for(now, 600) == now + timedelta(minutes=10)


@pytest.mark.parametrize("key", ["", "x" * 129, "tab\there", "ключ"])
def test_bad_idempotency_keys(key):
    with pytest.raises(rules.JobRuleError):
        rules.check_idempotency_key(key)


def test_good_idempotency_keys():
    assert rules.check_idempotency_key(None) is None
    assert rules.check_idempotency_key("k" * 128) == "k" * 128


def test_job_requested_envelope_matches_the_published_schema():
    params = rules.build_params({"kind": "txt2img", "prompt": "a fox"}).to_dict()
    env = events.job_requested(
        job_id=uuid.uuid4(), user_id=uuid.uuid4(), params=params, priority=5,
        deadline_at=datetime.now(timezone.utc), correlation_id="req-1",
    )
    validate(env.to_dict())
    assert env.routing_key == "inference.job.requested.v1" and env.producer == "pre_inference"
    assert env.data["deadline_at"].endswith("Z")


def test_job_requested_refuses_params_the_worker_could_not_read():
    params = {**rules.build_params({"kind": "txt2img", "prompt": "p"}).to_dict(), "extra": 1}
    with pytest.raises(ContractError):
        events.job_requested(job_id=uuid.uuid4(), user_id=uuid.uuid4(), params=params, priority=1,
                             deadline_at=datetime.now(timezone.utc), correlation_id=None)


def test_transitions():
    assert can_transition(QUEUED, RUNNING)
    assert not can_transition(RUNNING, RUNNING)
    assert not can_transition(SUCCEEDED, RUNNING)
    assert can_transition(RUNNING, SUCCEEDED) and can_transition(QUEUED, SUCCEEDED)
    assert not can_transition(FAILED, SUCCEEDED) and not can_transition(CANCELED, FAILED)


@pytest.mark.parametrize("step,total,fraction", [(0, 20, 0.0), (10, 20, 0.5), (20, 20, 1.0), (25, 20, 1.0), (1, 0, 0.0)])
def test_progress_fraction(step, total, fraction):
    assert progress_fraction(step, total) == fraction


def test_parse_time_accepts_z_and_naive():
    assert events.parse_time("2030-01-01T00:00:00Z").tzinfo is not None
    assert events.parse_time("2030-01-01T00:00:00").utcoffset() == timedelta(0)
