"""Integration (real processes): two worker processes' counts add up in one scrape, as
under gunicorn's 2 workers with PROMETHEUS_MULTIPROC_DIR set."""
import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

WORKER = """
from atelier_kit.metrics import observe_request
for _ in range({n}):
    observe_request("unit", "/api/things/{{thing_id}}", "GET", 200, 0.01)
"""
SCRAPE = "import sys; from atelier_kit.metrics import exposition; sys.stdout.buffer.write(exposition()[0])"


def run(code: str, directory) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=60).stdout.decode()


def test_two_processes_counts_add_up(tmp_path):
    run(WORKER.format(n=2), tmp_path)
    run(WORKER.format(n=3), tmp_path)
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file set per process
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(run(SCRAPE, tmp_path)) for s in family.samples
    }
    labels = (("method", "GET"), ("route", "/api/things/{thing_id}"), ("service", "unit"), ("status", "200"))
    assert samples[("atelier_http_requests_total", labels)] == 5
    duration = (("method", "GET"), ("route", "/api/things/{thing_id}"), ("service", "unit"))
    assert samples[("atelier_http_request_duration_seconds_count", duration)] == 5
