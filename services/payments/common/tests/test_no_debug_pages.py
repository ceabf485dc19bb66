"""The debug pages are gone for good: DEBUG is off by default, and even with DEBUG on an
unknown path is a JSON 404 without the route list, a crash is a JSON 500 with the request
id and no local variables, and deeply nested JSON is a 400."""
import pytest
from django.conf import settings
from django.test import Client, override_settings

SECRET_IN_A_LOCAL = "whsec_local_variable_that_must_not_leak"


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def test_debug_is_off_in_the_running_configuration():
    assert settings.DEBUG is False
    assert "*" not in settings.ALLOWED_HOSTS


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/nope", "/api/payments/nope", "/admin/nope"])
def test_unknown_paths_are_json_404_without_routes(client, debug, path):
    with override_settings(DEBUG=debug):
        response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"
    for route in (b"webhooks", b"readyz", b"ledger", b"URLconf"):
        assert route not in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_in_a_view_is_a_json_500_with_the_request_id(client, monkeypatch, debug):
    def explode():
        secret = SECRET_IN_A_LOCAL  # noqa: F841 - what a debug page would print
        raise RuntimeError("boom")

    monkeypatch.setattr("plans.api.views.public_plans", explode)
    with override_settings(DEBUG=debug):
        response = client.get("/api/payments/plans", HTTP_X_REQUEST_ID="req-crash-1")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["code"], error["request_id"]) == ("internal_error", "req-crash-1")
    assert SECRET_IN_A_LOCAL.encode() not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 40_000, b"[NaN]", b'{"plan": "x", "plan": "y"}'])
def test_deep_or_non_strict_json_is_400_invalid_json(client, verifier, make_token, raw):
    response = client.generic("POST", "/api/payments/checkout", raw, content_type="application/json",
                              HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_request_id_with_odd_bytes_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="é\xff\x00 id")
    assert response.status_code == 200 and len(response["X-Request-ID"]) == 36


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_csrf_failure_on_the_admin_is_json_without_settings(debug):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    with override_settings(DEBUG=debug):
        response = client.post("/admin/payments/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
