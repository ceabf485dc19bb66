"""Finding 10, the smaller ones: a signed file URL with a non-ASCII signature, a signup and a
reset that told known addresses from unknown ones, and the security headers of the edge."""
from __future__ import annotations

import time
import uuid

import pytest

from e2e.flows import PASSWORD, sign_up

from .conftest import assert_platform_error

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("query", ["exp=9999999999&sig=%C3%A9t%C3%A9", "exp=%C3%A9&sig=00", "exp=1e999&sig=00",
                                   "exp=99999999999999999999999999&sig=00", "exp=-1&sig=%00", "sig=\u2603"])
def test_a_signed_file_url_with_unreadable_parts_is_a_4xx(client, query):
    response = client.get(f"/files/images/{uuid.uuid4()}/0.png?{query}")
    assert_platform_error(response, (400, 403, 404))


def test_signup_says_the_same_for_a_known_address(client):
    address, _ = sign_up(client, "known")
    again = client.post("/api/auth/signup", json={"email": address, "password": PASSWORD})
    fresh = client.post("/api/auth/signup", json={"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD})
    assert again.status_code == fresh.status_code, (again.text, fresh.text)
    assert set(again.json()) == set(fresh.json())
    assert "taken" not in again.text and "exists" not in again.text


def test_a_reset_request_says_and_does_the_same_for_any_address(client):
    address, _ = sign_up(client, "resetme")

    def timed(email: str) -> tuple[int, dict, float]:
        started = time.perf_counter()
        response = client.post("/api/auth/password/reset", json={"email": email})
        return response.status_code, response.json() if response.content else {}, time.perf_counter() - started

    known = [timed(address) for _ in range(3)]
    unknown = [timed(f"nobody-{uuid.uuid4().hex[:8]}@example.com") for _ in range(3)]
    assert {k[0] for k in known} == {u[0] for u in unknown}
    assert known[0][1] == unknown[0][1]
    # The same work either way: the medians within a generous margin of each other.
    median = lambda rows: sorted(r[2] for r in rows)[1]  # noqa: E731
    assert abs(median(known) - median(unknown)) < max(0.05, 0.5 * median(unknown)), (known, unknown)


def test_the_edge_sends_hsts_over_https(client):
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    # Behind a TLS-terminating proxy the gateway says HSTS; over plain HTTP it must not.
    plain = client.get("/healthz")
    assert "strict-transport-security" not in plain.headers
