"""Every alert says how bad it is, what happened and what to do, and has promtool unit tests
that show it firing and staying quiet."""
from __future__ import annotations

import yaml

SEVERITIES = {"warning", "critical"}


def test_every_alert_has_severity_summary_and_runbook(alert_rules):
    errors = []
    for rule in alert_rules:
        where = f"{rule['file']}: {rule.get('alert', rule.get('record'))}"
        if "alert" not in rule:
            continue
        if rule.get("labels", {}).get("severity") not in SEVERITIES:
            errors.append(f"{where}: severity must be one of {sorted(SEVERITIES)}")
        for annotation in ("summary", "runbook"):
            if not str(rule.get("annotations", {}).get(annotation, "")).strip():
                errors.append(f"{where}: no {annotation} annotation")
    assert not errors, "\n".join(errors)


def test_every_alert_is_tested_firing_and_quiet(alert_rules, monitoring_dir):
    firing, quiet = set(), set()
    for path in (monitoring_dir / "rules" / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in alert_rules if "alert" in rule}
    assert sorted(alerts - firing) == [], "alerts never shown firing in rules/tests"
    assert sorted(alerts - quiet) == [], "alerts never shown quiet in rules/tests"


def test_the_issue_asks_for_these_alerts(alert_rules):
    alerts = {rule["alert"] for rule in alert_rules if "alert" in rule}
    assert {"AtelierJobsFailing", "AtelierOldestQueuedJobOld", "AtelierOutboxBacklog", "AtelierOutboxStale",
            "AtelierDeadLetters", "AtelierInferenceWorkerAbsent", "AtelierInferenceStalled",
            "AtelierGateway5xx", "AtelierConsumerLag", "AtelierTargetDown"} <= alerts
