"""The provisioned dashboards have the shape Grafana needs (uid, title, panels that name the
provisioned datasource and have queries), and are what build_dashboards.py writes."""
from __future__ import annotations

import importlib.util

import yaml

REQUIRED_DASHBOARDS = {"overview.json", "generation.json", "messaging.json", "money.json"}


def provisioned_datasource_uid(monitoring_dir) -> str:
    config = yaml.safe_load((monitoring_dir / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    [datasource] = config["datasources"]
    assert datasource["type"] == "prometheus"
    return datasource["uid"]


def test_the_four_dashboards_exist_with_unique_uids_and_titles(dashboards):
    assert REQUIRED_DASHBOARDS <= set(dashboards)
    uids = [d.get("uid") for d in dashboards.values()]
    titles = [d.get("title") for d in dashboards.values()]
    assert all(isinstance(uid, str) and 0 < len(uid) <= 40 for uid in uids), uids
    assert all(isinstance(title, str) and title for title in titles), titles
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)


def test_every_panel_names_the_provisioned_datasource_and_has_queries(dashboards, monitoring_dir):
    uid = provisioned_datasource_uid(monitoring_dir)
    errors = []
    for name, dashboard in dashboards.items():
        panels = dashboard.get("panels")
        if not isinstance(panels, list) or not panels:
            errors.append(f"{name}: no panels")
            continue
        ids = [panel.get("id") for panel in panels]
        if len(set(ids)) != len(ids):
            errors.append(f"{name}: panel ids repeat")
        for panel in panels:
            where = f"{name}: {panel.get('title')!r}"
            if not panel.get("title") or "gridPos" not in panel:
                errors.append(f"{where}: needs a title and a gridPos")
            if panel.get("type") == "row":
                continue
            if panel.get("datasource") != {"type": "prometheus", "uid": uid}:
                errors.append(f"{where}: datasource is not the provisioned Prometheus ({uid})")
            targets = panel.get("targets")
            if not isinstance(targets, list) or not targets:
                errors.append(f"{where}: no targets")
                continue
            ref_ids = [target.get("refId") for target in targets]
            if len(set(ref_ids)) != len(ref_ids) or not all(ref_ids):
                errors.append(f"{where}: refIds missing or repeated")
            for target in targets:
                if not str(target.get("expr", "")).strip():
                    errors.append(f"{where}: a target without an expression")
                if target.get("datasource", {}).get("uid") != uid:
                    errors.append(f"{where}: a target with another datasource")
    assert not errors, "\n".join(errors)


def test_the_dashboards_provider_loads_the_dashboards_folder(monitoring_dir):
    config = yaml.safe_load((monitoring_dir / "grafana" / "provisioning" / "dashboards" / "atelier.yml").read_text())
    [provider] = config["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_committed_json_is_what_build_dashboards_writes(dashboards, monitoring_dir):
    spec = importlib.util.spec_from_file_location("build_dashboards", monitoring_dir / "grafana" / "build_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [name for name, dashboard in module.DASHBOARDS.items()
             if (monitoring_dir / "grafana" / "dashboards" / name).read_text() != module.render(dashboard)]
    assert not stale, f"run infra/monitoring/grafana/build_dashboards.py: {stale} differ from its output"
