"""Buy pro through the sandbox's hosted checkout page, over HTTP through the gateway
only: sign up -> verify -> checkout -> pay with the test card -> the signed webhook
(Celery worker) activates the subscription -> auth makes the user pro -> the next
refreshed token says pro."""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from .flows import claims, eventually, mailed_token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def buyer(client, platform):
    address = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    assert client.post("/api/auth/signup", json={"email": address, "password": password}).status_code == 201
    token = eventually(lambda: mailed_token(Path(platform["env"]["ATELIER_MAIL_DIR"]), address),
                       "the verification mail", timeout=15)
    verified = client.post("/api/auth/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    tokens = client.post("/api/auth/token", json={"email": address, "password": password}).json()
    return {"headers": {"Authorization": f"Bearer {tokens['access']}"}, "tokens": tokens}


@pytest.fixture(scope="module")
def purchase(client, buyer):
    """Checkout, then pay on the hosted page like a browser would (GET the form, POST it)."""
    def start():
        response = client.post("/api/payments/checkout", json={"plan": "pro-monthly"}, headers=buyer["headers"])
        # Right after sign-up the customer record may still be on its way (auth.user.registered).
        return response if response.status_code != 404 else None

    started = eventually(start, "a payments customer for the new user", timeout=30)
    assert started.status_code == 201, started.text
    path = urlsplit(started.json()["checkout_url"]).path
    assert path.startswith("/api/payments/sandbox/checkout/")
    with httpx.Client(base_url=str(client.base_url), timeout=30) as browser:  # its own cookie jar
        page = browser.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
        declined = browser.post(path, data={"csrf_token": csrf, "card_number": "4000000000000002"})
        assert declined.status_code == 402
        paid = browser.post(path, data={"csrf_token": csrf, "card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303, paid.text
    assert paid.headers["location"].endswith("/billing?checkout=success")
    return started.json()


def test_payment_activates_the_subscription(client, buyer, purchase):
    def active():
        body = client.get("/api/payments/subscription", headers=buyer["headers"]).json()
        return body["subscription"] if body["subscription"] and body["subscription"]["status"] == "active" else None

    sub = eventually(active, "the webhook activating the subscription")
    assert (sub["plan"], sub["tier"]) == ("pro-monthly", "pro")
    invoices = client.get("/api/payments/invoices", headers=buyer["headers"]).json()
    assert invoices["total"] == 1 and invoices["items"][0]["amount_cents"] == 1200
    ledger = client.get("/api/payments/ledger", headers=buyer["headers"]).json()
    assert [e["amount"] for e in ledger["items"]] == [-1200]


def test_a_forged_webhook_is_refused_through_the_gateway(client):
    body = json.dumps({"id": "evt_forged", "type": "invoice.paid", "created": int(time.time()),
                       "data": {"object": {}}})
    response = client.post("/api/payments/webhooks/sandbox", content=body,
                           headers={"Content-Type": "application/json", "Atelier-Signature": f"t={int(time.time())},v1=00"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "signature_invalid")


def test_the_next_refreshed_token_says_pro(client, buyer, purchase):
    def pro():
        me = client.get("/api/auth/me", headers=buyer["headers"])
        return me.status_code == 200 and me.json().get("tier") == "pro"

    eventually(pro, "auth setting the pro tier", timeout=60)
    # Refreshed once: the refresh route is rate limited, and one refresh must be enough.
    response = client.post("/api/auth/token/refresh", json={"refresh": buyer["tokens"]["refresh"]})
    assert response.status_code == 200, response.text
    assert claims(response.json()["access"])["tier"] == "pro"


def test_a_credit_pack_grants_credits(client, buyer, purchase):
    started = client.post("/api/payments/checkout", json={"credit_pack": "credits-100"}, headers=buyer["headers"])
    assert started.status_code == 201, started.text
    path = urlsplit(started.json()["checkout_url"]).path
    with httpx.Client(base_url=str(client.base_url), timeout=30) as browser:
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', browser.get(path).text).group(1)
        assert browser.post(path, data={"csrf_token": csrf, "card_number": "4242424242424242"}).status_code == 303

    def credited():
        ledger = client.get("/api/payments/ledger", headers=buyer["headers"]).json()
        return ledger if ledger["credit_balance"] == 100 else None

    ledger = eventually(credited, "the credits being granted")
    assert ledger["total"] == 3  # the subscription payment, the pack payment, the credits
