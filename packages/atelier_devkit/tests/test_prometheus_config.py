"""The private Prometheus of the live alert tests watches what operators run: every job of
prometheus.local.yml with its labels, the real rules changed only in their `for:`."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from atelier_devkit.prometheus import JOB_PORTS, MONITORING, fast_rules, scrape_config


def ports() -> dict[str, int]:
    return {variable: 20000 + n for n, variable in enumerate(sorted(set(JOB_PORTS.values())))}


def test_every_job_of_the_local_config_is_kept_with_its_labels_on_the_platform_port():
    local = yaml.safe_load((MONITORING / "prometheus.local.yml").read_text())
    generated = scrape_config(ports(), interval="1s")
    assert [j["job_name"] for j in generated["scrape_configs"]] == [j["job_name"] for j in local["scrape_configs"]]
    for job, original in zip(generated["scrape_configs"], local["scrape_configs"]):
        [static] = job["static_configs"]
        assert static["targets"] == [f"127.0.0.1:{ports()[JOB_PORTS[job['job_name']]]}"]
        assert static["labels"] == original["static_configs"][0]["labels"]
    assert generated["global"] == {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}


def test_a_job_without_a_port_variable_is_refused(monkeypatch):
    monkeypatch.delitem(JOB_PORTS, "inference-worker")
    with pytest.raises(KeyError, match="inference-worker"):
        scrape_config(ports())


def test_rules_change_only_in_their_for_durations(tmp_path):
    names = fast_rules(tmp_path, hold="0s")
    assert "AtelierDeadLetters" in names and "AtelierInferenceWorkerAbsent" in names
    for source in sorted((MONITORING / "rules").glob("*.yml")):
        original = yaml.safe_load(source.read_text())
        rewritten = yaml.safe_load((tmp_path / source.name).read_text())
        for group, new_group in zip(original["groups"], rewritten["groups"], strict=True):
            for rule, new_rule in zip(group["rules"], new_group["rules"], strict=True):
                assert new_rule.get("for") == ("0s" if "for" in rule else None)
                assert {k: v for k, v in new_rule.items() if k != "for"} == {k: v for k, v in rule.items() if k != "for"}


def test_the_generated_config_and_rules_load_in_promtool(tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed: run infra/local/system.sh (make system)")
    fast_rules(tmp_path / "rules")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(ports())))
    result = subprocess.run([promtool, "check", "config", "prometheus.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
