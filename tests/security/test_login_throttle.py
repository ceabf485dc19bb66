"""Finding 7: the admin logins had no attempt limit, and the per-account API lockout let
anyone lock a chosen account out with ten wrong passwords. Attempts are throttled by account
and address together: the attacker is slowed, the owner can still log in."""
from __future__ import annotations

import re
import uuid

import pytest

from e2e.flows import PASSWORD

from .conftest import assert_platform_error, client_from

pytestmark = pytest.mark.e2e
ATTACKER = "127.0.0.2"
OWNER = "127.0.0.3"
ATTEMPTS = 30


def test_an_attacker_is_slowed_and_the_owner_still_logs_in(platform, person):
    with client_from(platform, ATTACKER) as attacker:
        answers = [attacker.post("/api/auth/token", json={"email": person["email"], "password": f"guess {i}"})
                   for i in range(ATTEMPTS)]
    statuses = [a.status_code for a in answers]
    assert 429 in statuses, statuses
    throttled = answers[statuses.index(429)]
    assert_platform_error(throttled, 429, "rate_limited")
    assert int(throttled.headers["retry-after"]) > 0
    # Even the right password from the attacker's address waits its turn ...
    with client_from(platform, ATTACKER) as attacker:
        assert attacker.post("/api/auth/token", json={"email": person["email"], "password": PASSWORD}).status_code == 429
    # ... while the owner, from their own address, is not locked out.
    with client_from(platform, OWNER) as owner:
        response = owner.post("/api/auth/token", json={"email": person["email"], "password": PASSWORD})
        assert response.status_code == 200, response.text


def test_spraying_many_accounts_from_one_address_is_slowed(platform):
    with client_from(platform, "127.0.0.4") as sprayer:
        statuses = []
        for _ in range(80):
            response = sprayer.post("/api/auth/token",
                                    json={"email": f"victim-{uuid.uuid4().hex[:8]}@example.com", "password": "guess"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert_platform_error(response, 429, "rate_limited")
                break
    assert 429 in statuses, statuses


@pytest.mark.parametrize("admin", ["/admin/auth", "/admin/payments"])
def test_the_admin_logins_are_throttled_too(platform, admin):
    username = f"staff-{uuid.uuid4().hex[:6]}@example.com"

    def attempt(client, password: str):
        page = client.get(f"{admin}/login/")
        assert page.status_code == 200, page.text[:300]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return client.post(f"{admin}/login/", data={"csrfmiddlewaretoken": token, "username": username,
                                                    "password": password, "next": f"{admin}/"},
                           headers={"Referer": f"{platform['base_url']}{admin}/login/"})

    with client_from(platform, ATTACKER) as attacker:
        statuses = [attempt(attacker, f"guess {i}").status_code for i in range(ATTEMPTS)]
    assert 429 in statuses, statuses
    with client_from(platform, OWNER) as owner:
        # A wrong password from another address is answered as such (200, the form again), not throttled.
        assert attempt(owner, "still wrong").status_code == 200
