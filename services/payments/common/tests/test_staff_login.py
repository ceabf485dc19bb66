"""Staff log into payments' admin with their auth account: auth checks the password and
says who is staff (common.staff_backend), over HTTP to a server on loopback."""
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LOGIN = "/admin/payments/login/"
HOME = "/admin/payments/"
PASSWORD = "the staff member's auth password"


def log_in(client: Client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password, "next": HOME},
                       REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")


def test_staff_log_in_with_their_auth_account_and_no_password_is_kept_here(auth_service):
    auth_service.add("boss@example.com", PASSWORD, staff=True, superuser=True)
    client = Client()
    response = log_in(client, "Boss@Example.com")
    assert response.status_code == 302 and response["Location"] == HOME
    user = get_user_model().objects.get(username="boss@example.com")
    assert user.is_staff and user.is_superuser and not user.has_usable_password()
    assert client.get(f"{HOME}billing/payment/").status_code == 200
    # auth saw the client's address (its own throttle), and the session opened for the check was ended.
    assert auth_service.paths() == ["/api/auth/token", "/api/auth/logout"]
    assert auth_service.requests[0][2] == "198.51.100.7"
    assert auth_service.requests[1][1] == {"refresh": "refresh-for-boss@example.com"}


def test_staff_without_superuser_get_only_what_payments_grants_them(auth_service):
    auth_service.add("clerk@example.com", PASSWORD, staff=True)
    client = Client()
    assert log_in(client, "clerk@example.com").status_code == 302
    user = get_user_model().objects.get(username="clerk@example.com")
    assert user.is_staff and not user.is_superuser
    assert client.get(f"{HOME}billing/payment/").status_code == 403


def test_a_wrong_password_or_a_person_who_is_not_staff_is_refused(auth_service):
    auth_service.add("boss@example.com", PASSWORD, staff=True)
    auth_service.add("person@example.com", PASSWORD)
    for email, password in (("boss@example.com", "wrong"), ("person@example.com", PASSWORD)):
        response = log_in(Client(), email, password)
        assert response.status_code == 200 and b"staff account" in response.content
    assert not get_user_model().objects.exists()


def test_staff_that_auth_no_longer_calls_staff_lose_their_open_sessions_at_their_next_login(auth_service):
    auth_service.add("former@example.com", PASSWORD, staff=True)
    open_session = Client()
    assert log_in(open_session, "former@example.com").status_code == 302
    auth_service.add("former@example.com", PASSWORD)  # staff status removed in auth
    assert log_in(Client(), "former@example.com").status_code == 200
    response = open_session.get(f"{HOME}billing/payment/")
    assert response.status_code == 302 and LOGIN in response["Location"]


def test_a_local_password_account_cannot_log_in(auth_service):
    # One identity: an account made here with createsuperuser is not a way in.
    get_user_model().objects.create_superuser("local", "local@example.com", PASSWORD)
    response = log_in(Client(), "local@example.com")
    assert response.status_code == 200 and b"staff account" in response.content


def test_auth_not_answering_in_time_is_said_plainly(auth_service, settings):
    auth_service.add("boss@example.com", PASSWORD, staff=True)
    settings.PAYMENTS_AUTH_TIMEOUT_S = 0.3
    auth_service.delay_s = 1.0
    started = time.monotonic()
    response = log_in(Client(), "boss@example.com")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 200 and b"the account service did not answer" in response.content


def test_staff_rows_are_made_by_logging_in_and_only_their_permissions_are_edited_here(auth_service):
    auth_service.add("boss@example.com", PASSWORD, staff=True, superuser=True)
    client = Client()
    log_in(client, "boss@example.com")
    boss = get_user_model().objects.get(username="boss@example.com")
    assert client.get(f"{HOME}auth/user/add/").status_code == 403
    page = client.get(f"{HOME}auth/user/{boss.pk}/change/").content.decode()
    assert 'name="groups"' in page and 'name="is_superuser"' not in page and 'name="password"' not in page


def test_auth_throttling_the_account_is_said_as_such(auth_service):
    auth_service.add("boss@example.com", PASSWORD, staff=True)
    auth_service.throttled = True
    response = log_in(Client(), "boss@example.com")
    assert response.status_code == 200 and b"Too many failed logins" in response.content
