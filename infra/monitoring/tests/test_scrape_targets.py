"""Every process is scraped, under the same job/app/process labels, whether Prometheus runs
against `make up`, inside compose or under prometheus-operator; the rules and dashboards
depend on those labels (job="inference-worker" in particular)."""
from __future__ import annotations

import importlib.util

import yaml

# job: (address under `make up`, address in compose). The port plan of README.md.
EXPECTED = {
    "gateway-api": ("127.0.0.1:8000", "gateway:8000"),
    "auth-api": ("127.0.0.1:8101", "auth:8101"),
    "payments-api": ("127.0.0.1:8102", "payments:8102"),
    "pre_inference-api": ("127.0.0.1:8103", "pre-inference:8103"),
    "auth-relay": ("127.0.0.1:9101", "auth-relay:9101"),
    "auth-consumer": ("127.0.0.1:9102", "auth-consumer:9102"),
    "payments-relay": ("127.0.0.1:9111", "payments-relay:9111"),
    "payments-consumer": ("127.0.0.1:9112", "payments-consumer:9112"),
    "payments-worker": ("127.0.0.1:9113", "payments-worker:9113"),
    "pre_inference-relay": ("127.0.0.1:9121", "pre-inference-relay:9121"),
    "pre_inference-consumer": ("127.0.0.1:9122", "pre-inference-consumer:9122"),
    "inference-worker": ("127.0.0.1:9131", "inference:9131"),
}


def static_targets(path) -> dict[str, tuple[str, dict]]:
    config = yaml.safe_load(path.read_text())
    found = {}
    for job in config["scrape_configs"]:
        [group] = job["static_configs"]
        [target] = group["targets"]
        found[job["job_name"]] = (target, group["labels"])
    return found


def test_local_and_compose_configs_scrape_every_process_with_its_labels(monitoring_dir):
    for column, name in enumerate(["prometheus.local.yml", "prometheus.compose.yml"]):
        targets = static_targets(monitoring_dir / name)
        assert {job: target for job, (target, _) in targets.items()} == {job: pair[column] for job, pair in EXPECTED.items()}, name
        for job, (_, labels) in targets.items():
            # job is <app>-<process>; never a `service` target label (the metrics carry their own)
            assert job == f"{labels['app']}-{labels['process']}" and "service" not in labels, (name, job)


def test_k8s_monitors_give_every_process_the_same_job_labels(monitoring_dir):
    jobs, copied = {}, {}
    for path in sorted((monitoring_dir / "k8s").glob("*monitors.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert document["apiVersion"] == "monitoring.coreos.com/v1"
            assert document["kind"] in {"PodMonitor", "ServiceMonitor"}
            endpoints = document["spec"].get("podMetricsEndpoints") or document["spec"]["endpoints"]
            for endpoint in endpoints:
                # constants set on every series; labels copied from the pod (the worker's pool) are checked below
                set_labels = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"] if "sourceLabels" not in r}
                assert set_labels["job"] == f"{set_labels['app']}-{set_labels['process']}"
                jobs[set_labels["job"]] = document["kind"]
                copied[set_labels["job"]] = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"] if "sourceLabels" in r}
    assert set(jobs) == set(EXPECTED)
    assert jobs["inference-worker"] == "PodMonitor"
    # every pool's workers are scraped by one monitor, each series labelled with the pod's pool
    assert copied.pop("inference-worker") == {"pool": ["__meta_kubernetes_pod_label_atelier_dev_pool"]}
    assert not any(copied.values()), copied


def test_k8s_prometheus_rule_is_what_build_rules_writes(monitoring_dir):
    spec = importlib.util.spec_from_file_location("build_rules", monitoring_dir / "k8s" / "build_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (monitoring_dir / "k8s" / "rules.yml").read_text() == module.render(), \
        "run infra/monitoring/k8s/build_rules.py: k8s/rules.yml differs from rules/*.yml"
