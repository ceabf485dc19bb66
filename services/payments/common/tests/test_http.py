"""Integration: health, JSON 404s and the admin under /admin/payments/."""
import pytest
from django.contrib.auth import get_user_model

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


def test_health_refuses_other_methods_in_json(client):
    response = client.post("/readyz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/nope", "/api/payments/nope", "/api/auth/me"])
def test_unknown_paths_are_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_admin_requires_staff_login(client):
    response = client.get("/admin/payments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/payments/login/")


def test_staff_can_open_the_admin_pages(client):
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "a-long-password-1")
    client.force_login(staff)
    for path in ("/admin/payments/", "/admin/payments/plans/plan/", "/admin/payments/customers/customer/"):
        assert client.get(path).status_code == 200, path


def test_admin_static_is_served_by_whitenoise(client):
    response = client.get("/admin/payments/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


def test_request_id_is_echoed_when_valid_and_replaced_when_not(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="req-4f1c2a")["X-Request-ID"] == "req-4f1c2a"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert replaced != "bad id\n" and len(replaced) == 36
