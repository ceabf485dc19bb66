"""Dashboards and alert rules use only metrics of catalogue.toml, with that metric's labels,
and every catalogue metric appears on at least one dashboard panel: the catalogue is the
contract between the processes that export and the people who watch."""
from __future__ import annotations

import pytest

from promql_refs import references

HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# Series Prometheus makes itself for every target, and the labels it gives every target
# (prometheus.*.yml and the k8s monitors set app and process).
BUILTIN_SERIES = {"up": set()}
TARGET_LABELS = {"job", "instance", "app", "process"}


def catalogue_metric(name: str, catalogue: dict) -> tuple[str, set[str]] | None:
    """The catalogue entry a series name belongs to, and the labels that series may carry."""
    entry = catalogue.get(name)
    if entry is not None and entry["type"] != "histogram":
        return name, set(entry["labels"])
    for suffix in HISTOGRAM_SERIES:
        base = name.removesuffix(suffix)
        if base != name and catalogue.get(base, {}).get("type") == "histogram":
            return base, set(catalogue[base]["labels"]) | ({"le"} if suffix == "_bucket" else set())
    return None


def dashboard_expressions(dashboards: dict) -> list[tuple[str, str]]:
    return [(f"{name}: {panel['title']}", target["expr"])
            for name, dashboard in dashboards.items()
            for panel in dashboard["panels"] if panel["type"] != "row"
            for target in panel["targets"]]


def rule_expressions(alert_rules: list) -> list[tuple[str, str]]:
    return [(f"{rule['file']}: {rule['alert']}", rule["expr"]) for rule in alert_rules]


def problems(where: str, expr: str, catalogue: dict) -> list[str]:
    found = references(expr)
    errors, allowed_grouping = [], set(TARGET_LABELS) | {"le"}
    for series in sorted(found.metrics):
        if series in BUILTIN_SERIES:
            labels = set(BUILTIN_SERIES[series])
        elif (entry := catalogue_metric(series, catalogue)) is None:
            hint = " (a histogram: use _bucket, _sum or _count)" if catalogue.get(series, {}).get("type") == "histogram" else ""
            errors.append(f"{where}: {series} is not in catalogue.toml{hint}")
            continue
        else:
            labels = entry[1]
        allowed_grouping |= labels
        for label in sorted(found.matcher_labels.get(series, set()) - labels - TARGET_LABELS):
            errors.append(f"{where}: {series} has no label {label!r}")
    for label in sorted(found.grouping_labels - allowed_grouping):
        errors.append(f"{where}: groups by {label!r}, which none of its metrics carries")
    return errors


def test_dashboard_expressions_use_only_catalogue_metrics_and_labels(dashboards, catalogue):
    errors = [e for where, expr in dashboard_expressions(dashboards) for e in problems(where, expr, catalogue)]
    assert not errors, "\n".join(errors)


def test_rule_expressions_use_only_catalogue_metrics_and_labels(alert_rules, catalogue):
    errors = [e for where, expr in rule_expressions(alert_rules) for e in problems(where, expr, catalogue)]
    assert not errors, "\n".join(errors)


def test_every_catalogue_metric_is_on_a_dashboard(dashboards, catalogue):
    used = set()
    for _, expr in dashboard_expressions(dashboards):
        for series in references(expr).metrics:
            if (entry := catalogue_metric(series, catalogue)) is not None:
                used.add(entry[0])
    assert sorted(set(catalogue) - used) == []


@pytest.mark.parametrize("expr, message", [
    ("rate(gateway_requests_totl[5m])", "gateway_requests_totl is not in catalogue.toml"),
    ("rate(gateway_request_duration_seconds[5m])", "use _bucket, _sum or _count"),
    ('rate(gateway_requests_total{code="500"}[5m])', "has no label 'code'"),
    ("sum by (tier) (rate(gateway_requests_total[5m]))", "groups by 'tier'"),
])
def test_the_check_catches_names_and_labels_outside_the_catalogue(catalogue, expr, message):
    assert any(message in error for error in problems("probe", expr, catalogue))


def test_the_check_accepts_histogram_series_target_labels_and_up(catalogue):
    expr = ('histogram_quantile(0.95, sum by (route, le) (rate(gateway_request_duration_seconds_bucket{job="gateway-api"}[5m])))'
            ' and on() absent(up{job="inference-worker"} == 1)')
    assert problems("probe", expr, catalogue) == []
