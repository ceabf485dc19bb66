"""Finding 7 (admin part): the admin login is limited per (username, address) and, more
loosely, per address; the owner logging in from their own address is not locked out by
someone else's guesses. The address is the gateway's X-Forwarded-For, believed only from
loopback."""
import pytest
from django.test import Client, override_settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LOGIN = "/admin/payments/login/"
ATTACKER = "203.0.113.9"
OWNER = "198.51.100.7"
PASSWORD = "a-long-password-1"


STAFF = "staff@example.com"


@pytest.fixture
def staff(db, auth_service):
    # Staff log in with their auth account (common.staff_backend); auth_service answers as auth.
    auth_service.add(STAFF, PASSWORD, staff=True, superuser=True)
    return STAFF


def attempt(username: str, password: str, address: str, remote: str = "127.0.0.1"):
    client = Client()
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/payments/"},
                       REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=address)


def test_five_failures_lock_the_pair_but_not_the_owner(staff):
    for _ in range(5):
        assert attempt(STAFF, "wrong", ATTACKER).status_code == 200  # the form again, with an error
    refused = attempt(STAFF, PASSWORD, ATTACKER)  # even the right password: the pair waits
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 900
    owner = attempt(STAFF, PASSWORD, OWNER)
    assert owner.status_code == 302 and owner["Location"] == "/admin/payments/"


def test_usernames_are_compared_case_insensitively(staff):
    for name in (STAFF, STAFF.upper(), "Staff@example.com", "sTaff@example.com", "staFF@EXAMPLE.com"):
        attempt(name, "wrong", ATTACKER)
    assert attempt(STAFF, "wrong", ATTACKER).status_code == 429


@override_settings(ADMIN_LOGIN_LIMIT_PER_ADDRESS=(3, 900))
def test_one_address_spraying_many_accounts_is_capped(staff):
    for name in ("a", "b", "c"):
        assert attempt(name, "wrong", ATTACKER).status_code == 200
    assert attempt("d", "wrong", ATTACKER).status_code == 429
    assert attempt(STAFF, PASSWORD, OWNER).status_code == 302


def test_a_success_gives_the_attempts_back(staff):
    for _ in range(4):
        attempt(STAFF, "wrong", OWNER)
    assert attempt(STAFF, PASSWORD, OWNER).status_code == 302
    for _ in range(5):
        assert attempt(STAFF, "wrong", OWNER).status_code == 200
    assert attempt(STAFF, "wrong", OWNER).status_code == 429


def test_forwarded_for_is_ignored_unless_from_the_gateway(staff):
    # Not from loopback: the claimed address is ignored, the peer address counts.
    for spoofed in range(5):
        attempt(STAFF, "wrong", f"192.0.2.{spoofed}", remote="10.1.2.3")
    assert attempt(STAFF, "wrong", "192.0.2.77", remote="10.1.2.3").status_code == 429


def test_odd_bytes_in_the_username_are_counted_not_crashing(staff):
    response = attempt("é\x00\uffff" * 300, "wrong", ATTACKER)
    assert response.status_code == 200
