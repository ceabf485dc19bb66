"""The tier policy as configuration, cost units, and tier checks."""
from pathlib import Path

import pytest

from app.domain import jobs as rules
from app.domain.policy import DEFAULT_POLICY_FILE, cost_units, check_request, load_policy


def params(**values):
    return rules.build_params({"kind": "txt2img", "prompt": "p", **values}, seed_source=lambda: 1)


def test_starting_values_of_the_agreed_table():
    policy = load_policy(environ={})
    free, pro, partner = (policy.tiers[t] for t in ("free", "pro", "partner"))
    assert (free.requests_per_minute, free.images_per_day, free.max_width, free.max_steps, free.concurrency, free.priority) == (5, 50, 512, 30, 1, 1)
    assert (pro.requests_per_minute, pro.images_per_day, pro.max_width, pro.max_steps, pro.concurrency, pro.priority) == (60, 2000, 1024, 50, 4, 5)
    assert (partner.requests_per_minute, partner.images_per_day, partner.concurrency, partner.priority) == (600, 50000, 16, 5)


@pytest.mark.parametrize("tier,priority", [("free", 1), ("pro", 5), ("partner", 5), ("unknown", 1), (None, 1)])
def test_priority_by_tier_unknown_gets_the_default(tier, priority):
    assert load_policy(environ={}).limits_for(tier).priority == priority


def test_env_overrides_one_value():
    policy = load_policy(environ={"PRE_INFERENCE_TIER_FREE_REQUESTS_PER_MINUTE": "9", "PRE_INFERENCE_TIER_POLICY_FILE": "x"})
    assert policy.tiers["free"].requests_per_minute == 9 and policy.tiers["pro"].requests_per_minute == 60


@pytest.mark.parametrize("env", [{"PRE_INFERENCE_TIER_GOLD_CONCURRENCY": "1"}, {"PRE_INFERENCE_TIER_FREE_CONCURRENCY": "many"}])
def test_bad_env_override_refuses_to_load(env):
    with pytest.raises(ValueError):
        load_policy(environ=env)


def test_a_policy_above_the_contract_is_refused(tmp_path: Path):
    text = DEFAULT_POLICY_FILE.read_text().replace("max_width = 1024", "max_width = 4096", 1)
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(ValueError, match="max_width"):
        load_policy(tmp_path / "p.toml", environ={})


def test_key_limits_override_and_ignore_junk():
    limits = load_policy(environ={}).limits_for("partner", {"requests_per_minute": 7, "concurrency": True, "bogus": 3, "max_n": 99})
    assert limits.requests_per_minute == 7 and limits.concurrency == 16 and limits.max_n == 16


@pytest.mark.parametrize(
    "values,expected",
    [({}, 1.0), ({"steps": 30}, 1.0), ({"steps": 60, "width": 1024, "height": 1024}, 8.0), ({"n": 4, "steps": 30}, 4.0), ({"width": 64, "height": 64, "steps": 1}, 1.0)],
)
def test_cost_units(values, expected):
    assert cost_units(params(**values)) == expected


@pytest.mark.parametrize(
    "values,expected",
    [
        ({"kind": "img2img", "steps": 60, "width": 1024, "height": 1024, "strength": 0.5}, 4.0),
        ({"kind": "inpaint", "mask": "m", "steps": 60, "width": 1024, "height": 1024, "strength": 1.0}, 8.0),
        # 50 * 0.58 is 28.999999999999996 in floating point: diffusers runs 28 steps, and so are they charged.
        ({"kind": "img2img", "steps": 50, "width": 1024, "height": 1024, "strength": 0.58}, 3.7333),
        ({"kind": "img2img", "steps": 30, "n": 4}, 2.9333),  # the default strength, 0.75: 22 of 30 steps
        ({"kind": "txt2img", "steps": 60, "width": 1024, "height": 1024, "strength": 0.5}, 8.0),  # no input: every step
    ],
)
def test_image_to_image_costs_the_steps_it_runs(values, expected):
    if values["kind"] != "txt2img":
        values = {"init_image": "i", **values}
    assert cost_units(params(**values)) == expected


@pytest.mark.parametrize("kind", ["img2img", "inpaint"])
def test_an_image_to_image_job_that_runs_no_step_is_refused(kind):
    with pytest.raises(rules.JobRuleError) as caught:
        params(kind=kind, init_image="i", mask="m" if kind == "inpaint" else None, steps=4, strength=0.2)
    assert caught.value.code == "validation_error" and caught.value.field == "strength"
    assert "runs no step" in caught.value.message
    assert cost_units(params(kind=kind, init_image="i", mask="m" if kind == "inpaint" else None, steps=4, strength=0.25)) == 1.0


@pytest.mark.parametrize("values,field", [({"width": 1024}, "width"), ({"steps": 31}, "steps"), ({"height": 4096}, "height")])
def test_over_the_tier_names_the_field(values, field):
    policy = load_policy(environ={})
    with pytest.raises(rules.JobRuleError) as caught:
        check_request(params(**values), policy.limits_for("free"), policy.largest())
    assert caught.value.code == "exceeds_tier" and caught.value.field == field


def test_no_tier_allows_is_said_so():
    policy = load_policy(environ={})
    with pytest.raises(rules.JobRuleError, match="no tier allows"):
        check_request(params(width=4096), policy.limits_for("pro"), policy.largest())
    check_request(params(width=1024, steps=50), policy.limits_for("pro"), policy.largest())
