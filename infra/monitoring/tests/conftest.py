"""Loaders shared by the monitoring checks: the catalogue, the dashboards, the rule files."""
from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # promql_refs, beside this file


@pytest.fixture(scope="session")
def monitoring_dir() -> Path:
    return MONITORING


@pytest.fixture(scope="session")
def catalogue() -> dict[str, dict]:
    return tomllib.loads((MONITORING / "catalogue.toml").read_text())["metrics"]


@pytest.fixture(scope="session")
def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))}


@pytest.fixture(scope="session")
def alert_rules() -> list[dict]:
    rules = []
    for path in sorted((MONITORING / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [{**rule, "file": path.name} for rule in group["rules"]]
    return rules
