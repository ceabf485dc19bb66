"""A private Prometheus server for tests that watch alerts fire on a live platform.

It runs the `prometheus` binary that `make system` takes out of Debian's package
(/usr/local/bin/prometheus; ``PROMETHEUS_BIN`` overrides) on a free loopback port with a
temporary data directory. Its configuration is derived from the checked-in files, so the
test exercises what operators run:
- the scrape jobs and target labels of infra/monitoring/prometheus.local.yml, with each
  target's port replaced by the test platform's own (its ``*_PORT`` variables);
- the real rule files, rewritten only in their ``for:`` durations, and short scrape and
  evaluation intervals, so that an alert fires in seconds instead of minutes.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "infra" / "monitoring"
DEFAULT_BINARY = "/usr/local/bin/prometheus"
START_TIMEOUT_S = 30

# prometheus.local.yml's job -> the platform variable holding that process's port. A job
# without an entry here fails loudly, so a new process cannot silently go unwatched.
JOB_PORTS = {
    "gateway-api": "GATEWAY_PORT",
    "auth-api": "AUTH_PORT",
    "payments-api": "PAYMENTS_PORT",
    "pre_inference-api": "PRE_INFERENCE_PORT",
    "auth-relay": "AUTH_RELAY_METRICS_PORT",
    "auth-consumer": "AUTH_CONSUMER_METRICS_PORT",
    "payments-relay": "PAYMENTS_RELAY_METRICS_PORT",
    "payments-consumer": "PAYMENTS_CONSUMER_METRICS_PORT",
    "payments-worker": "PAYMENTS_WORKER_METRICS_PORT",
    "pre_inference-relay": "PRE_INFERENCE_RELAY_METRICS_PORT",
    "pre_inference-consumer": "PRE_INFERENCE_CONSUMER_METRICS_PORT",
    "inference-worker": "INFERENCE_METRICS_PORT",
}


def prometheus_binary() -> str:
    binary = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus") or DEFAULT_BINARY
    if not Path(binary).is_file():
        raise FileNotFoundError(f"no prometheus binary at {binary}: run `make system` (infra/local/system.sh)")
    return binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape_config(ports: Mapping[str, Any], *, interval: str = "1s") -> dict:
    """prometheus.local.yml with every target on the given ports and a short interval."""
    config = yaml.safe_load((MONITORING / "prometheus.local.yml").read_text())
    unknown = [job["job_name"] for job in config["scrape_configs"] if job["job_name"] not in JOB_PORTS]
    if unknown:
        raise KeyError(f"prometheus.local.yml jobs without a port variable in JOB_PORTS: {unknown}")
    for job in config["scrape_configs"]:
        port = ports[JOB_PORTS[job["job_name"]]]
        for static in job["static_configs"]:
            static["targets"] = [f"127.0.0.1:{port}"]
    # A stopped process must count as down within one interval, hence timeout = interval.
    config["global"] = {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval}
    config["rule_files"] = ["rules/*.yml"]
    return config


def fast_rules(target_dir: Path, *, hold: str = "0s") -> list[str]:
    """Copies the rule files into ``target_dir`` with every ``for:`` set to ``hold``; expressions,
    labels and annotations stay as written. Returns the alert names."""
    target_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for source in sorted((MONITORING / "rules").glob("*.yml")):
        document = yaml.safe_load(source.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = hold
                if "alert" in rule:
                    names.append(rule["alert"])
        (target_dir / source.name).write_text(yaml.safe_dump(document, sort_keys=False))
    return names


class PrivatePrometheus:
    """A running server and the bits of its HTTP API that tests ask."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.dir = directory

    def _get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        assert body["status"] == "success", body
        return body["data"]

    def targets(self) -> list[dict]:
        return self._get("/api/v1/targets", state="active")["activeTargets"]

    def alerts(self) -> list[dict]:
        return self._get("/api/v1/alerts")["alerts"]

    def firing(self, alertname: str) -> list[dict]:
        return [a for a in self.alerts() if a["labels"].get("alertname") == alertname and a["state"] == "firing"]

    def query(self, expr: str) -> list[dict]:
        return self._get("/api/v1/query", query=expr)["result"]


@contextmanager
def private_prometheus(ports: Mapping[str, Any], *, interval: str = "1s", hold: str = "0s") -> Iterator[PrivatePrometheus]:
    """Starts Prometheus against a platform's ports; stops it and removes its data after."""
    directory = Path(tempfile.mkdtemp(prefix="atelier-prometheus-"))
    port = _free_port()
    fast_rules(directory / "rules", hold=hold)
    config = directory / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(ports, interval=interval), sort_keys=False))
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(
        [prometheus_binary(), f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
        stdout=log, stderr=subprocess.STDOUT, cwd=directory,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited at start:\n{(directory / 'server.log').read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"prometheus not ready after {START_TIMEOUT_S}s; see {directory / 'server.log'}")
            time.sleep(0.2)
        yield PrivatePrometheus(url, directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)
