"""Integration: /metrics after real requests, labelled by URL pattern, served only to
internal addresses, and holding every catalogue metric exported by auth."""
import tomllib
from pathlib import Path

import pytest

from atelier_kit.metrics import HTTP_REQUESTS

CATALOGUE = Path(__file__).resolve().parents[4] / "infra" / "monitoring" / "catalogue.toml"
pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def catalogue_for(exporter: str) -> dict[str, dict]:
    metrics = tomllib.loads(CATALOGUE.read_text())["metrics"]
    return {name: spec for name, spec in metrics.items() if exporter in spec["exporters"]}


def count(route: str, method: str, status: str) -> float:
    return HTTP_REQUESTS.labels("auth", route, method, status)._value.get()


def test_requests_are_labelled_by_url_pattern_never_the_raw_path(client):
    before = count("/healthz", "GET", "200")
    client.get("/healthz")
    assert count("/healthz", "GET", "200") == before + 1
    client.get("/api/auth/this/path/is/nowhere-1234")
    body = client.get("/metrics").content.decode()
    assert 'route="unmatched"' in body
    assert "nowhere-1234" not in body


def test_catalogue_metrics_of_auth_are_exported_with_their_labels(client):
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    for name, spec in catalogue_for("auth").items():
        assert f"# TYPE {name} {spec['type']}" in body, name
        sample = name + ("_bucket" if spec["type"] == "histogram" else "")
        lines = [line for line in body.splitlines() if line.startswith(sample + "{")]
        assert lines, name
        assert all(f'{label}="' in lines[0] for label in spec["labels"]), (name, lines[0])
    assert 'atelier_http_requests_total{method="GET",route="/healthz",service="auth",status="200"}' in body


def test_metrics_are_refused_to_outside_and_forwarded_requests(client):
    assert client.get("/metrics", REMOTE_ADDR="8.8.8.8").status_code == 404
    forwarded = client.get("/metrics", HTTP_X_FORWARDED_FOR="8.8.8.8")
    assert forwarded.status_code == 404 and forwarded.json()["error"]["code"] == "not_found"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
