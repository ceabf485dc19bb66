"""Finding 1: no framework debug page ever reaches a client, whatever the input. The attack
was a webhook whose signature header held a non-ASCII character: the signature check raised
and payments' debug page showed the webhook secret and the valid MAC for the attacker's body."""
from __future__ import annotations

import json
import re
import time

import pytest

from .conftest import assert_platform_error

pytestmark = pytest.mark.e2e

NASTY_SIGNATURES = [
    "t={now},v1=\u00e9".encode(),
    "t={now},v1=\u2603\u2603".encode(),
    b"t=\xff\xfe,v1=\x80\x81",
    "t=99999999999999999999,v1=00".encode(),
    b"t=253402300800,v1=00",  # 10000-01-01: past what datetime can hold
    b"t=-1,v1=00",
    b"t=,v1=",
    b"v1=" + b"a" * 4000,
]


@pytest.mark.parametrize("signature", NASTY_SIGNATURES, ids=range(len(NASTY_SIGNATURES)))
def test_a_webhook_with_an_unreadable_signature_is_a_clean_400(client, platform, signature):
    body = json.dumps({"id": "evt_attack", "type": "checkout.session.completed",
                       "data": {"object": {"client_reference_id": "x"}}}).encode()
    signature = signature.replace(b"{now}", str(int(time.time())).encode())
    response = client.post("/api/payments/webhooks/sandbox", content=body,
                           headers={"Content-Type": "application/json", "Atelier-Signature": signature})
    assert_platform_error(response, 400)
    assert platform["env"]["PAYMENTS_SANDBOX_WEBHOOK_SECRET"] not in response.text


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("path", ["/api/auth/signup", "/api/auth/token", "/api/payments/checkout",
                                  "/api/v1/jobs", "/api/payments/webhooks/sandbox"])
def test_deeply_nested_json_is_refused_everywhere(client, person, path):
    for depth in (200, 5000, 100_000):
        response = client.post(path, content=_deep(depth), headers={**person["headers"], "Content-Type": "application/json"})
        # 400 for JSON the service will not read, 413 where the body is over the route's size limit,
        # 401 where the route first wants a signature.
        assert_platform_error(response, (400, 401, 413, 422))


def test_the_sandbox_checkout_page_survives_a_garbage_csrf_token(client, person):
    started = client.post("/api/payments/checkout", json={"plan": "pro-monthly"}, headers=person["headers"])
    assert started.status_code in (200, 201), started.text
    path = "/" + started.json()["checkout_url"].split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200
    for token in ("\u00e9\u00e9\u00e9", "\x00", "a" * 10_000, "%ff%fe"):
        response = client.post(path, data={"csrf_token": token, "card_number": "4242424242424242\u00e9"})
        assert 400 <= response.status_code < 500, (token, response.status_code)
        assert "Traceback" not in response.text and "SECRET" not in response.text
    # Raw non-UTF-8 bytes in the form body, too.
    response = client.post(path, content=b"csrf_token=\xff\xfe&card_number=\x80",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= response.status_code < 500 and "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/api/payments/nope", "/api/auth/nope", "/api/v1/nope",
                                  "/api/payments/sandbox/checkout/x/y/z", "/api/auth/api-keys/not-a-uuid"])
def test_unknown_routes_are_a_json_404_that_lists_nothing(client, person, path):
    response = client.get(path, headers=person["headers"])
    error = assert_platform_error(response, 404)
    assert not re.search(r"api/|admin/|\^", error["message"].replace(path, "")), error


def test_the_services_answer_with_debug_off(platform):
    """`make up` runs ATELIER_ENV=development; DEBUG stays off unless a developer turns it on."""
    env = platform["env"]
    assert env["ATELIER_ENV"] in ("development", "test")
    for name in ("AUTH_DEBUG", "PAYMENTS_DEBUG"):
        assert env.get(name, "") in ("", "0", "false", "False")
