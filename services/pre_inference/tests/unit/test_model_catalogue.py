"""The catalogue's rules: states from heartbeats, family defaults and limits, tiers per model."""
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from app.domain.catalogue import Served, check_params, defaults_for, entries, pool_for
from app.domain.jobs import JobRuleError, build_params
from app.domain.policy import DEFAULT_POLICY_FILE, load_policy

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
SCHNELL = {"native_size": 1024, "max_size": 2048, "size_multiple": 16, "default_steps": 4, "max_steps": 8,
           "default_guidance": 0.0, "max_guidance": 0.0, "negative_prompt": False}


def served(model="flux", worker="w1", loaded=True, age_s=0.0, interval_s=10.0):
    return Served(worker=worker, model=model, family="flux", variant="schnell", loaded=loaded,
                  kinds=("txt2img", "img2img"), schedulers=("default",), limits=SCHNELL, interval_s=interval_s,
                  seen_at=NOW - timedelta(seconds=age_s))


@pytest.mark.parametrize("rows,state", [
    ([served()], "ready"),
    ([served(loaded=False), served(worker="w2", loaded=True, age_s=36)], "cold"),
    ([served(age_s=34)], "ready"),
    ([served(age_s=36)], "unavailable"),
    ([served(age_s=180, interval_s=60)], "ready"),
])
def test_state_counts_a_worker_live_for_three_heartbeats(rows, state):
    assert entries(rows, NOW)[0].state == state


def test_the_default_model_comes_first_and_each_model_once():
    listed = entries([served("zeta"), served("default"), served("alpha"), served("alpha", worker="w2")], NOW)
    assert [entry.name for entry in listed] == ["default", "alpha", "zeta"]
    assert listed[1].workers == 2


def test_defaults_come_from_the_family():
    entry = entries([served()], NOW)[0]
    params = build_params({"kind": "txt2img", "prompt": "x"}, defaults=defaults_for(entry), seed_source=lambda: 1)
    assert (params.width, params.height, params.steps, params.guidance) == (1024, 1024, 4, 0.0)
    assert defaults_for(None) == {}


@pytest.mark.parametrize("overrides,field", [
    ({"kind": "inpaint", "init_image": "x", "mask": "y"}, "kind"),
    ({"width": 4096}, "width"), ({"height": 1000}, "height"), ({"steps": 9}, "steps"),
    ({"guidance": 0.5}, "guidance"), ({"negative_prompt": "blurry"}, "negative_prompt"), ({"scheduler": "ddim"}, "scheduler"),
])
def test_limits_name_the_field(overrides, field):
    entry = entries([served()], NOW)[0]
    params = build_params({"kind": "txt2img", "prompt": "x", "guidance": 0.0, **overrides}, defaults=defaults_for(entry),
                          seed_source=lambda: 1)
    with pytest.raises(JobRuleError) as caught:
        check_params(params, entry)
    assert (caught.value.code, caught.value.field) == ("outside_model_limits", field)


def test_tiers_per_model_default_to_every_tier(tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(DEFAULT_POLICY_FILE.read_text() + '\n[models."flux-dev"]\ntiers = ["pro"]\n')
    policy = load_policy(policy_file, environ={})
    assert policy.tiers_for_model("flux-dev") == ["pro"] and policy.tiers_for_model("default") == ["free", "pro", "partner"]
    assert policy.model_allowed("flux-dev", "pro") and not policy.model_allowed("flux-dev", "free")
    assert not policy.model_allowed("flux-dev", "no-such-tier"), "an unknown tier is the default tier"
    assert "models" not in policy.tiers


@pytest.mark.parametrize("section", ['[models.x]\ntiers = ["gold"]\n', '[models.x]\ntiers = "pro"\n', '[models.x]\ntiers = ["pro"]\nmax = 1\n'])
def test_bad_model_tiers_refuse_to_load(tmp_path, section):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(DEFAULT_POLICY_FILE.read_text().replace("[models]\n", "") + "\n" + section)
    with pytest.raises(ValueError):
        load_policy(policy_file, environ={})


# -- worker pools ---------------------------------------------------------------------------
def pooled(pool, worker, loaded=True, age_s=0.0):
    return dataclasses.replace(served(worker=worker, loaded=loaded, age_s=age_s), pool=pool)


def test_pools_prefer_the_model_loaded_then_more_workers_then_the_name():
    rows = [pooled("b", "b1", loaded=False), pooled("b", "b2", loaded=False), pooled("a", "a1", loaded=False),
            pooled("c", "c1"), pooled("gone", "g1", age_s=3600)]
    assert entries(rows, NOW)[0].pools == ("c", "b", "a")


def test_pool_for_uses_live_pools_then_the_operators_then_the_last_one():
    live = entries([pooled("large", "w1")], NOW)[0]
    stale = entries([pooled("large", "w1", age_s=3600)], NOW)[0]
    assert pool_for("flux", live, {"flux": "huge"}) == "large"
    assert pool_for("flux", stale, {"flux": "huge"}) == "huge"
    assert pool_for("flux", stale, {}) == "large"
    assert pool_for("flux", None, {"flux": "huge"}) == "huge"
    assert pool_for("flux", None, {}) == "default"
