"""promtool's own checks: both Prometheus configs load (rule files included), the rules are
valid, and the rule unit tests in rules/tests pass. CI must run these (infra/local/system.sh
installs promtool); elsewhere they are skipped with the reason when promtool is missing."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("promtool is missing in CI: infra/local/system.sh (make system) must install it")
    pytest.skip("promtool is not installed: run infra/local/system.sh (make system) to install it")


def run(promtool: str, *args: str) -> None:
    result = subprocess.run([promtool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("config", ["prometheus.local.yml", "prometheus.compose.yml"])
def test_prometheus_config_is_valid(promtool, config):
    run(promtool, "check", "config", config)


def test_alert_rules_are_valid(promtool):
    run(promtool, "check", "rules", *sorted(str(p.relative_to(MONITORING)) for p in (MONITORING / "rules").glob("*.yml")))


def test_alert_rule_unit_tests_pass(promtool):
    run(promtool, "test", "rules", *sorted(str(p.relative_to(MONITORING)) for p in (MONITORING / "rules" / "tests").glob("*.yml")))


def test_dashboard_expressions_are_valid_promql(promtool, dashboards, tmp_path):
    """promtool parses every panel query, written as a recording rule (Grafana's $__ variables
    replaced by what Grafana would put there), so that a typo shows here and not as an empty panel."""
    rules = [{"record": f"atelier:dashboard_check:{number}", "expr": expr}
             for number, expr in enumerate(
                 target["expr"].replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
                 for dashboard in dashboards.values()
                 for panel in dashboard["panels"] if panel["type"] != "row"
                 for target in panel["targets"])]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}))
    run(promtool, "check", "rules", str(path))
