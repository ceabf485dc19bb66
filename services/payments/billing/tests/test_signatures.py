"""Unit: webhook signatures (the sandbox's scheme and Stripe's, via the stripe library)
and the translation of provider payloads. No I/O."""
import json
import time

import pytest

from billing.providers.base import CHECKOUT_COMPLETED, IGNORED, INVOICE_PAID, WebhookError, sign, verify_signature
from billing.providers.events import translate
from billing.providers.stripe import StripeProvider

SECRET = "whsec_unit"
BODY = b'{"id":"evt_1"}'


def test_a_fresh_correct_signature_verifies():
    verify_signature(SECRET, BODY, sign(SECRET, BODY), tolerance_s=300)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "v1=deadbeef", "t=123",
                                    "t=" + "9" * 40 + ",v1=00", "x" * 5000])
def test_malformed_headers_are_invalid(header):
    with pytest.raises(WebhookError) as caught:
        verify_signature(SECRET, BODY, header, tolerance_s=300)
    assert caught.value.code == "signature_invalid"


def test_a_signature_made_with_another_secret_is_invalid():
    with pytest.raises(WebhookError) as caught:
        verify_signature(SECRET, BODY, sign("other", BODY), tolerance_s=300)
    assert caught.value.code == "signature_invalid"


def test_a_changed_body_is_invalid():
    with pytest.raises(WebhookError) as caught:
        verify_signature(SECRET, BODY + b" ", sign(SECRET, BODY), tolerance_s=300)
    assert caught.value.code == "signature_invalid"


@pytest.mark.parametrize("age", [301, -301, 86400])
def test_stale_or_future_signatures_are_expired(age):
    header = sign(SECRET, BODY, int(time.time()) - age)
    with pytest.raises(WebhookError) as caught:
        verify_signature(SECRET, BODY, header, tolerance_s=300)
    assert caught.value.code == "signature_expired"


def test_a_stale_forgery_is_reported_as_invalid_not_expired():
    header = sign("other", BODY, int(time.time()) - 3600)
    with pytest.raises(WebhookError) as caught:
        verify_signature(SECRET, BODY, header, tolerance_s=300)
    assert caught.value.code == "signature_invalid"


def test_no_secret_configured_refuses_everything():
    with pytest.raises(WebhookError):
        verify_signature("", BODY, sign("", BODY), tolerance_s=300)


def _stripe_event(event_type="checkout.session.completed", **obj):
    return {"id": "evt_123", "object": "event", "type": event_type, "created": 1_790_000_000,
            "data": {"object": {"id": "cs_test_1", "object": "checkout.session", **obj}}}


def test_translate_checkout_completed():
    event = translate(_stripe_event(mode="subscription", subscription="sub_1", invoice="in_1", amount_total=1200,
                                    currency="usd", client_reference_id="abc"))
    assert event.type == CHECKOUT_COMPLETED
    assert (event.subscription_id, event.payment_id, event.amount_cents, event.currency) == ("sub_1", "in_1", 1200, "USD")


def test_translate_new_style_invoice_with_line_periods():
    payload = {"id": "evt_2", "type": "invoice.paid", "created": 1_790_000_000, "data": {"object": {
        "id": "in_2", "amount_paid": 1200, "currency": "usd",
        "parent": {"subscription_details": {"subscription": "sub_9"}},
        "lines": {"data": [{"period": {"start": 1_790_000_000, "end": 1_792_600_000}}]}}}}
    event = translate(payload)
    assert event.type == INVOICE_PAID and event.subscription_id == "sub_9"
    assert event.period_end.timestamp() == 1_792_600_000


def test_unknown_types_are_ignored_not_refused():
    assert translate({"id": "evt_3", "type": "charge.dispute.created", "created": 1, "data": {"object": {}}}).type == IGNORED


@pytest.mark.parametrize("payload", [
    [], "x", {}, {"id": 1, "type": "invoice.paid", "created": 1, "data": {"object": {}}},
    {"id": "e", "type": "invoice.paid", "created": "yesterday", "data": {"object": {}}},
    {"id": "e", "type": "invoice.paid", "created": 1, "data": []},
    {"id": "e", "type": "invoice.paid", "created": 1, "data": {"object": {"amount_paid": -5}}},
    {"id": "e", "type": "invoice.paid", "created": 1, "data": {"object": {"subscription": ["x"]}}},
    {"id": "e", "type": "invoice.paid", "created": True, "data": {"object": {}}},
    {"id": "e" * 300, "type": "invoice.paid", "created": 1, "data": {"object": {}}},
])
def test_malformed_payloads_are_refused(payload):
    with pytest.raises(WebhookError) as caught:
        translate(payload)
    assert caught.value.code == "invalid_payload"


# --- Stripe: payloads signed exactly the way Stripe signs them ---------------------------------

def stripe_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    return sign(secret, body, timestamp)  # t=<ts>,v1=<HMAC-SHA256(secret, f"{t}.{payload}")>


def test_stripe_accepts_a_stripe_signed_event():
    body = json.dumps(_stripe_event(mode="payment", payment_intent="pi_1", amount_total=500, currency="usd")).encode()
    provider = StripeProvider(client=object(), webhook_secret="whsec_s")
    event = provider.parse_webhook(body, {"Stripe-Signature": stripe_header("whsec_s", body)})
    assert event.type == CHECKOUT_COMPLETED and event.payment_id == "pi_1"


def test_stripe_stale_and_forged_are_told_apart():
    body = json.dumps(_stripe_event()).encode()
    provider = StripeProvider(client=object(), webhook_secret="whsec_s")
    with pytest.raises(WebhookError) as stale:
        provider.parse_webhook(body, {"Stripe-Signature": stripe_header("whsec_s", body, int(time.time()) - 900)})
    with pytest.raises(WebhookError) as forged:
        provider.parse_webhook(body, {"Stripe-Signature": stripe_header("whsec_other", body)})
    with pytest.raises(WebhookError) as missing:
        provider.parse_webhook(body, {})
    assert (stale.value.code, forged.value.code, missing.value.code) == (
        "signature_expired", "signature_invalid", "signature_invalid")


def test_stripe_without_a_secret_refuses():
    body = b"{}"
    with pytest.raises(WebhookError):
        StripeProvider(client=object(), webhook_secret="").parse_webhook(body, {"Stripe-Signature": sign("", body)})


@pytest.mark.parametrize("header", [
    "t=1700000000,v1=é" + "0" * 63, b"t=1700000000,v1=\xff\xfe", "t=١٧٠٠,v1=00", "t=²,v1=00",
    "t=253402300800,v1=00", "t=-1,v1=00", "\udcff", b"\x00" * 10,
])
def test_unreadable_headers_are_invalid_not_exceptions_of_another_kind(header):
    with pytest.raises(WebhookError) as caught:
        verify_signature(SECRET, BODY, header, tolerance_s=300)
    assert caught.value.code == "signature_invalid"


def test_a_header_as_bytes_verifies():
    verify_signature(SECRET, BODY, sign(SECRET, BODY).encode(), tolerance_s=300)
