"""Brute-force protection on the real Redis, under this run's key prefix."""
import pytest
import redis
from django.conf import settings

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import error_code, login
from common import attempts

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def clean_counters():
    client = redis.Redis.from_url(settings.ATELIER_REDIS_URL)
    yield client
    for key in client.scan_iter(match=f"{settings.ATELIER_REDIS_PREFIX}auth:attempts:*"):
        client.delete(key)


def attempt(client, email, password="wrong password", address="203.0.113.7"):
    return client.post("/api/auth/token", {"email": email, "password": password}, format="json",
                       HTTP_X_FORWARDED_FOR=f"10.9.9.9, {address}")


def test_guesses_slow_the_guessing_address_with_retry_after_and_success_resets(api_client, settings, clean_counters):
    settings.AUTH_LOGIN_LIMIT_PER_ACCOUNT = (3, 900)
    user = UserFactory()
    for _ in range(2):
        assert error_code(attempt(api_client, user.email), 401) == "invalid_credentials"
    login(api_client, user.email, HTTP_X_FORWARDED_FOR="203.0.113.7")  # success before the limit resets it
    for _ in range(3):
        assert error_code(attempt(api_client, user.email.upper()), 401) == "invalid_credentials"
    locked = attempt(api_client, user.email, DEFAULT_PASSWORD)  # even the right password waits, from here
    assert error_code(locked, 429) == "rate_limited"
    assert 0 < int(locked["Retry-After"]) <= 900
    keys = list(clean_counters.scan_iter(match=f"{settings.ATELIER_REDIS_PREFIX}auth:attempts:*"))
    assert keys and all(clean_counters.ttl(key) > 0 for key in keys)
    assert all(user.email.encode() not in key and b"203.0.113.7" not in key for key in keys)  # subjects are hashed


def test_guessing_cannot_lock_the_owner_out(api_client, settings):
    """Audit finding 7: ten wrong passwords from anywhere used to lock the account itself."""
    settings.AUTH_LOGIN_LIMIT_PER_ACCOUNT = (3, 900)
    user = UserFactory()
    for _ in range(3):
        assert error_code(attempt(api_client, user.email, address="203.0.113.66"), 401) == "invalid_credentials"
    for _ in range(2):  # the attacker stays slowed, right password or not
        assert error_code(attempt(api_client, user.email, DEFAULT_PASSWORD, address="203.0.113.66"), 429) == "rate_limited"
    # The owner, from their own address, logs in as usual (a wrong try first changes nothing).
    assert error_code(attempt(api_client, user.email, address="198.51.100.20"), 401) == "invalid_credentials"
    assert attempt(api_client, user.email, DEFAULT_PASSWORD, address="198.51.100.20").status_code == 200
    assert error_code(attempt(api_client, user.email, DEFAULT_PASSWORD, address="203.0.113.66"), 429) == "rate_limited"


def test_one_address_guessing_many_accounts_is_stopped(api_client, settings):
    settings.AUTH_LOGIN_LIMIT_PER_ADDRESS = (4, 900)
    for n in range(4):
        assert attempt(api_client, f"victim{n}@example.com").status_code == 401
    limited = attempt(api_client, "victim9@example.com")
    assert error_code(limited, 429) == "rate_limited" and int(limited["Retry-After"]) > 0
    # another client address (the gateway's last hop) is not affected
    assert attempt(api_client, "victim9@example.com", address="198.51.100.1").status_code == 401


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7", REMOTE_ADDR="127.0.0.1")
    assert attempts.client_address(request) == "203.0.113.7"
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1", REMOTE_ADDR="192.0.2.50")
    assert attempts.client_address(request) == "192.0.2.50"


def test_password_reset_is_limited_per_account_and_per_address(api_client, settings):
    settings.AUTH_RESET_LIMIT_PER_ACCOUNT = (2, 3600)
    settings.AUTH_RESET_LIMIT_PER_ADDRESS = (3, 3600)

    def reset(email, address="203.0.113.9"):
        return api_client.post("/api/auth/password/reset", {"email": email}, format="json",
                               HTTP_X_FORWARDED_FOR=address)

    assert reset("a@example.com").status_code == 202 and reset("a@example.com").status_code == 202
    limited = reset("A@example.com")
    assert error_code(limited, 429) == "rate_limited" and int(limited["Retry-After"]) > 0
    assert reset("b@example.com", address="198.51.100.2").status_code == 202
    assert reset("c@example.com").status_code == 202  # third from this address
    assert error_code(reset("d@example.com"), 429) == "rate_limited"


def test_without_redis_logins_still_work(api_client, settings, monkeypatch):
    monkeypatch.setattr(attempts, "_client", lambda: redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    user = UserFactory()
    assert error_code(attempt(api_client, user.email), 401) == "invalid_credentials"
    login(api_client, user.email)
