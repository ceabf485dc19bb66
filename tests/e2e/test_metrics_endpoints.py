"""Every process of the running platform serves the metrics the catalogue lists for it
(infra/monitoring/catalogue.toml, the contract between processes, dashboards and alerts).

A family counts as present once it is registered, samples or not: the processes create the
children of their known label values at start (consumer outcomes, relay exchanges, worker job
outcomes), so a labelled family shows as soon as the process is up, before any traffic.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

CATALOGUE = Path(__file__).resolve().parents[2] / "infra" / "monitoring" / "catalogue.toml"
# Catalogue exporter -> the variable naming its port. The HTTP services serve /metrics on
# their own port; the processes without HTTP on their own *_METRICS_PORT.
EXPORTER_PORTS = {
    "gateway": "GATEWAY_PORT",
    "auth": "AUTH_PORT",
    "payments": "PAYMENTS_PORT",
    "pre_inference": "PRE_INFERENCE_PORT",
    "auth-relay": "AUTH_RELAY_METRICS_PORT",
    "auth-consumer": "AUTH_CONSUMER_METRICS_PORT",
    "payments-relay": "PAYMENTS_RELAY_METRICS_PORT",
    "payments-consumer": "PAYMENTS_CONSUMER_METRICS_PORT",
    "payments-worker": "PAYMENTS_WORKER_METRICS_PORT",
    "pre_inference-relay": "PRE_INFERENCE_RELAY_METRICS_PORT",
    "pre_inference-consumer": "PRE_INFERENCE_CONSUMER_METRICS_PORT",
    "inference": "INFERENCE_METRICS_PORT",
}
# Exported only where CUDA is (the catalogue says "absent on the CPU").
CUDA_ONLY = {"inference_gpu_memory_bytes", "inference_gpu_utilization_ratio"}


def catalogue() -> dict[str, dict]:
    return tomllib.loads(CATALOGUE.read_text())["metrics"]


def expected_by_exporter() -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {}
    for name, spec in catalogue().items():
        for exporter in spec["exporters"]:
            expected.setdefault(exporter, set()).add(name)
    return expected


def family_names(body: str) -> set[str]:
    """Names as the catalogue writes them: the parser drops a counter's _total suffix."""
    names = set()
    for family in text_string_to_metric_families(body):
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def scrape(port: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)


def test_every_process_serves_the_metrics_the_catalogue_lists_for_it(platform):
    env = platform["env"]
    expected = expected_by_exporter()
    assert set(expected) <= set(EXPORTER_PORTS), "a catalogue exporter this test cannot find: add its port"
    missing: dict[str, set[str]] = {}
    not_served: list[str] = []
    for exporter, names in sorted(expected.items()):
        port = env[EXPORTER_PORTS[exporter]]
        try:
            answer = scrape(port)
        except httpx.TransportError as exc:
            not_served.append(f"{exporter} (port {port}: {exc!r})")
            continue
        if answer.status_code == 404:
            not_served.append(f"{exporter} (/metrics on port {port} answers 404)")
            continue
        assert answer.status_code == 200, f"{exporter}: /metrics answered {answer.status_code}"
        absent = names - family_names(answer.text) - CUDA_ONLY
        if absent:
            missing[exporter] = absent
    assert not missing, f"catalogue metrics missing from their exporters: {missing}"
    if not_served:
        # Every endpoint that answers was checked above; these processes serve no metrics yet.
        pytest.skip("no /metrics yet for: " + "; ".join(not_served))
