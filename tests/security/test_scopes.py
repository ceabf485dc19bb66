"""Finding 4: a key with only `jobs:read` cancelled its owner's subscription, started a
checkout and read invoices and the ledger. Every route enforces the scopes that
atelier_identity.scopes lists; managing the account takes the user's own session."""
from __future__ import annotations

import pytest

from .conftest import assert_platform_error, key_headers, make_key

pytestmark = pytest.mark.e2e

ACCOUNT_ROUTES = [
    ("POST", "/api/payments/checkout", {"plan": "pro-monthly"}),
    ("POST", "/api/payments/subscription/cancel", None),
    ("POST", "/api/payments/subscription/change", {"plan": "partner-monthly"}),
    ("GET", "/api/payments/subscription/change-preview?plan=partner-monthly", None),
    ("GET", "/api/payments/invoices", None),
    ("GET", "/api/payments/ledger", None),
    ("GET", "/api/payments/subscription", None),
    ("GET", "/api/auth/api-keys", None),
    ("POST", "/api/auth/api-keys", {"name": "escalate"}),
    ("POST", "/api/auth/password/change", {"old_password": "x", "new_password": "y" * 20}),
]


@pytest.mark.parametrize("method, path, body", ACCOUNT_ROUTES, ids=[f"{m} {p}" for m, p, _ in ACCOUNT_ROUTES])
def test_a_read_only_key_cannot_touch_money_or_the_account(client, person, method, path, body):
    key = make_key(client, person, ["jobs:read"])
    response = client.request(method, path, json=body, headers=key_headers(key))
    assert_platform_error(response, 403, "insufficient_scope")


def test_a_read_only_key_cannot_write_jobs_but_can_read_them(client, person):
    key = make_key(client, person, ["jobs:read"])
    refused = client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "x", "width": 64, "height": 64, "steps": 1},
                          headers=key_headers(key))
    assert_platform_error(refused, 403, "insufficient_scope")
    assert client.get("/api/v1/jobs", headers=key_headers(key)).status_code == 200
    assert_platform_error(client.get("/api/v1/usage", headers=key_headers(key)), 403, "insufficient_scope")


def test_the_owner_session_still_reaches_its_billing(client, person):
    assert client.get("/api/payments/invoices", headers=person["headers"]).status_code == 200
    assert client.get("/api/payments/subscription", headers=person["headers"]).status_code in (200, 404)
