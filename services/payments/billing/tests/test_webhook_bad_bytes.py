"""The critical finding: a webhook signature header the verifier could not read raised, and
the debug page then showed the webhook secret and the MAC expected for the attacker's body.
Every unreadable header is now 400 signature_invalid, whatever DEBUG says, and the answer
never carries the secret."""
import json
import time

import pytest
from django.conf import settings
from django.test import Client, override_settings

from billing.models import WebhookEvent
from billing.providers.base import sign

from .conftest import WEBHOOK_URL

STRIPE_URL = "/api/payments/webhooks/stripe"
BODY = json.dumps({"id": "evt_x", "type": "invoice.paid", "created": 1700000000,
                   "data": {"object": {"id": "in_1"}}}).encode()
NOW = int(time.time())
BAD_HEADERS = [
    f"t={NOW},v1=é" + "0" * 63,             # non-ASCII in the MAC (was TypeError from compare_digest)
    f"t={NOW},v1=\u2603",
    "t=١٧٠٠٠٠٠٠٠٠,v1=00",                   # Unicode digits
    "t=²,v1=00",                            # isdigit() but not int()
    "t=99999999999,v1=00",                  # past year 9999
    "t=-5,v1=00",
    "t=" + "9" * 400 + ",v1=00",
    "t=\x00\xff,v1=\xfe",
    "\xff" * 3000,
]


def answers(client, url, header_name, header):
    return client.generic("POST", url, BODY, content_type="application/json", **{header_name: header})


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("header", BAD_HEADERS)
@pytest.mark.parametrize(("url", "header_name"), [(WEBHOOK_URL, "HTTP_ATELIER_SIGNATURE"),
                                                  (STRIPE_URL, "HTTP_STRIPE_SIGNATURE")])
def test_unreadable_signature_headers_are_400_and_leak_nothing(url, header_name, header, debug):
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=debug):
        response = answers(client, url, header_name, header)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "signature_invalid"
    for secret in (settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, settings.PAYMENTS_STRIPE_WEBHOOK_SECRET,
                   sign(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, BODY, NOW).split("v1=")[1]):
        assert secret.encode() not in response.content
    assert not WebhookEvent.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db
def test_a_signed_but_absurdly_nested_body_is_invalid_payload_not_500():
    body = b"[" * 100_000
    header = sign(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, body)
    response = Client(raise_request_exception=False).generic(
        "POST", WEBHOOK_URL, body, content_type="application/json", HTTP_ATELIER_SIGNATURE=header)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_payload")


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("created", [2**40, 10**15, -1])
def test_a_signed_event_from_past_year_9999_is_invalid_payload(created):
    body = json.dumps({"id": "evt_y", "type": "invoice.paid", "created": created,
                       "data": {"object": {"id": "in_1"}}}).encode()
    header = sign(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, body)
    response = Client(raise_request_exception=False).generic(
        "POST", WEBHOOK_URL, body, content_type="application/json", HTTP_ATELIER_SIGNATURE=header)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_payload")


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("length", ["²", "1e3", "-1"])
def test_odd_content_lengths_are_refused_not_500(length):
    response = Client(raise_request_exception=False).generic(
        "POST", WEBHOOK_URL, BODY, content_type="application/json", CONTENT_LENGTH=length,
        HTTP_ATELIER_SIGNATURE=sign(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, BODY))
    assert 400 <= response.status_code < 500
