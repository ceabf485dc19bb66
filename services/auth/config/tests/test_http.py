import pytest

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.mark.integration
@pytest.mark.django_db
def test_probes(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


@pytest.mark.integration
@pytest.mark.django_db
def test_admin_is_staff_only_and_serves_static(client):
    login = client.get("/admin/auth/")
    assert login.status_code == 302 and login["Location"].startswith("/admin/auth/login/")
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    assert client.login(email=staff.email, password=DEFAULT_PASSWORD)
    assert client.get("/admin/auth/accounts/user/").status_code == 200
    assert client.get("/admin/auth/accounts/user/add/").status_code == 200
    assert client.get(f"/admin/auth/accounts/user/{staff.pk}/change/").status_code == 200
    css = client.get("/admin/auth/static/admin/css/base.css")
    assert css.status_code == 200


@pytest.mark.integration
@pytest.mark.django_db
def test_non_staff_cannot_use_admin(client):
    user = UserFactory(email="plain@example.com")
    client.login(email=user.email, password=DEFAULT_PASSWORD)
    assert client.get("/admin/auth/accounts/user/").status_code == 302
