"""Writes k8s/rules.yml: the alert rules of infra/monitoring/rules/*.yml wrapped as one
PrometheusRule, so that prometheus-operator loads exactly the rules promtool tests.
Run after editing a rule file (tests/test_scrape_targets.py fails until you do):

    .venv/bin/python infra/monitoring/k8s/build_rules.py
"""
from __future__ import annotations

from pathlib import Path

import yaml

MONITORING = Path(__file__).resolve().parents[1]
OUTPUT = MONITORING / "k8s" / "rules.yml"
HEADER = ("# The alert rules of infra/monitoring/rules/*.yml as one PrometheusRule (prometheus-operator).\n"
          "# Written by build_rules.py beside this file; edit the rules there, not here.\n")


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line expressions stay readable as literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def render() -> str:
    groups = []
    for path in sorted((MONITORING / "rules").glob("*.yml")):
        groups += yaml.safe_load(path.read_text())["groups"]
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "atelier", "labels": {"app.kubernetes.io/part-of": "atelier"}},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=200, allow_unicode=True)


if __name__ == "__main__":
    OUTPUT.write_text(render())
