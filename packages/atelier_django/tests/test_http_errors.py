"""Unit: what a client sees for crashes, unknown paths, deep JSON and undeclared scopes."""
import pytest
from django.test import Client, override_settings
from rest_framework import exceptions

from atelier_django.exceptions import ApiError, Conflict, InsufficientScope, PayloadTooLarge, exception_handler


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_is_a_json_500_with_the_request_id_and_no_locals(client, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/crash", HTTP_X_REQUEST_ID="req-77")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "internal_error"
    assert response.json()["error"]["request_id"] == "req-77"
    assert b"whsec_do_not_show_me" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_path_is_a_json_404_without_routes(client, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert b"echo" not in response.content and b"crash" not in response.content


def test_deep_json_through_a_view_is_400(client):
    response = client.post("/echo", data=b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_request_id_is_made_when_missing_or_unsafe(client):
    assert client.post("/echo", data=b"{}", content_type="application/json",
                       HTTP_X_REQUEST_ID="abc")["X-Request-ID"] == "abc"
    made = client.post("/echo", data=b"{}", content_type="application/json", HTTP_X_REQUEST_ID="é\xff")
    assert len(made["X-Request-ID"]) == 36


def test_a_view_without_a_declared_scope_is_refused(client):
    response = client.get("/undeclared")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(("exc", "status", "code"), [
    (exceptions.ParseError("bad"), 400, "invalid_json"),
    (exceptions.NotAuthenticated(), 401, "not_authenticated"),
    (exceptions.AuthenticationFailed("x", code="token_expired"), 401, "token_expired"),
    (exceptions.AuthenticationFailed("x", code="whatever"), 401, "token_invalid"),
    (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
    (exceptions.Throttled(wait=3), 429, "rate_limited"),
    (PayloadTooLarge(), 413, "payload_too_large"),
    (Conflict(), 409, "conflict"),
    (InsufficientScope(), 403, "insufficient_scope"),
    (ApiError("no account yet", code="customer_not_found", status_code=404), 404, "customer_not_found"),
])
def test_exceptions_map_to_codes(exc, status, code):
    response = exception_handler(exc, {})
    assert (response.status_code, response.data["error"]["code"]) == (status, code)


def test_api_error_fields_are_kept():
    response = exception_handler(ApiError("bad", code="validation_error", fields={"plan": ["unknown"]}), {})
    assert response.data["error"]["fields"] == {"plan": ["unknown"]}


@pytest.mark.parametrize("debug", [False, True])
def test_a_bad_host_header_never_renders_a_traceback(client, debug):
    with override_settings(DEBUG=debug):
        response = client.post("/echo", data=b"{}", content_type="application/json", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"Traceback" not in response.content and b"SECRET_KEY" not in response.content
    assert b"kit-unit-tests-only" not in response.content
