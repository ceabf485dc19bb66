"""Unit: the HTTP metrics' label rules, the ASGI face's route-template labelling, the
Django face's pattern cleaning, and where the multiprocess folder goes."""
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from atelier_kit import metrics
from atelier_kit.metrics_asgi import HttpMetricsMiddleware
from atelier_kit.metrics_multiprocess import multiprocess_dir, prepare_multiprocess_dir


def requests(service, route, method, status) -> float:
    labels = {"service": service, "route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("atelier_http_requests_total", labels) or 0.0


@pytest.mark.parametrize("template,label", [
    ("/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}"),
    ("api/auth/keys/<uuid:key_id>", "/api/auth/keys/<uuid:key_id>"),
    (None, "unmatched"),
    ("", "unmatched"),
])
def test_route_label_is_the_template_or_unmatched(template, label):
    assert metrics.route_label(template) == label


def test_unknown_methods_share_one_label():
    assert metrics.method_label("get") == "GET"
    assert metrics.method_label("BREW") == metrics.method_label("X" * 500) == "OTHER"


@pytest.mark.parametrize("host,internal", [
    ("127.0.0.1", True), ("::1", True), ("10.0.0.7", True), ("192.168.1.2", True),
    ("8.8.8.8", False), ("testclient", False), (None, False), ("", False),
])
def test_internal_addresses(host, internal):
    assert metrics.is_internal_address(host) is internal


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/api/v1/things")

    @router.get("/{thing_id}")
    async def thing(thing_id: str) -> dict:
        return {"id": thing_id}

    @router.get("/{thing_id}/boom")
    async def boom(thing_id: str) -> dict:
        raise RuntimeError("unexpected")

    app.include_router(router)
    app.add_middleware(HttpMetricsMiddleware, service="unit")
    return app


def test_asgi_middleware_labels_by_template_never_by_raw_path():
    client = TestClient(_app(), raise_server_exceptions=False)
    before = requests("unit", "/api/v1/things/{thing_id}", "GET", "200")
    for n in range(3):
        assert client.get(f"/api/v1/things/thing-{n}").status_code == 200
    assert requests("unit", "/api/v1/things/{thing_id}", "GET", "200") == before + 3
    unmatched = requests("unit", "unmatched", "GET", "404")
    assert client.get("/somewhere/else").status_code == 404
    assert requests("unit", "unmatched", "GET", "404") == unmatched + 1
    errors = requests("unit", "/api/v1/things/{thing_id}/boom", "GET", "500")
    assert client.get("/api/v1/things/x/boom").status_code == 500
    assert requests("unit", "/api/v1/things/{thing_id}/boom", "GET", "500") == errors + 1
    body, _ = metrics.exposition()
    assert b"thing-1" not in body and b"/somewhere/else" not in body


def test_django_patterns_lose_their_regex_anchors():
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from atelier_kit.metrics_django import route_template

    def with_route(route):
        return SimpleNamespace(resolver_match=SimpleNamespace(route=route))

    assert route_template(with_route("api/payments/^checkout/?$")) == "api/payments/checkout"
    assert route_template(with_route("api/auth/keys/<uuid:key_id>")) == "api/auth/keys/<uuid:key_id>"
    assert route_template(SimpleNamespace(resolver_match=None)) is None


def test_multiprocess_dir_lives_in_the_runs_var_dir(tmp_path):
    env = {"ATELIER_STORAGE_DIR": str(tmp_path / "run" / "storage")}
    assert multiprocess_dir("auth", env) == (tmp_path / "run" / "prometheus" / "auth").resolve()
    assert multiprocess_dir("auth", {"PROMETHEUS_MULTIPROC_DIR": "/x/y"}) == Path("/x/y")


def test_prepare_wipes_what_a_previous_run_left(tmp_path):
    env = {"ATELIER_STORAGE_DIR": str(tmp_path / "storage")}
    stale = tmp_path / "prometheus" / "auth" / "counter_123.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    directory = prepare_multiprocess_dir("auth", env)
    assert list(directory.iterdir()) == [] and env["PROMETHEUS_MULTIPROC_DIR"] == str(directory)
