"""Auth runs on the shared kit (atelier_django): no debug page even with DEBUG on, JSON 404s
without routes, bounded JSON, DEBUG off by default, and the admin login throttle."""
import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def test_debug_is_off_and_hosts_are_not_a_wildcard():
    assert settings.DEBUG is False
    assert "*" not in settings.ALLOWED_HOSTS


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_paths_are_json_404_without_routes(client, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/api/auth/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert b"internal/" not in response.content and b"URLconf" not in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_is_a_json_500_with_the_request_id(client, monkeypatch, debug):
    def explode(self, request):
        token = "internal-token-in-a-local"  # noqa: F841 - what a debug page would print
        raise RuntimeError("boom")

    monkeypatch.setattr("config.views.HealthzView.get", explode)
    with override_settings(DEBUG=debug):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="req-auth-1")
    assert response.status_code == 500
    assert response.json()["error"]["request_id"] == "req-auth-1"
    assert b"internal-token-in-a-local" not in response.content


def test_deeply_nested_json_is_400(client):
    response = client.generic("POST", "/api/auth/signup", b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.integration
@pytest.mark.django_db
def test_admin_login_is_throttled_per_account_and_address():
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)

    def attempt(password, address):
        return Client().post("/admin/auth/login/", {"username": staff.email, "password": password,
                                                    "next": "/admin/auth/"},
                             REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=address)

    for _ in range(5):
        assert attempt("wrong", "203.0.113.9").status_code == 200
    refused = attempt(DEFAULT_PASSWORD, "203.0.113.9")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert attempt(DEFAULT_PASSWORD, "198.51.100.7").status_code == 302  # the owner, from home


def test_every_api_view_declares_its_scope():
    """Fail closed: the default permission refuses a view that names no scope, and none does."""
    from django.conf import settings

    from atelier_django.permissions import api_routes, undeclared_api_routes

    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == ["atelier_django.permissions.ScopeNotDeclared"]
    assert undeclared_api_routes() == []
    assert len(list(api_routes())) >= 15
