"""Integration: the sandbox's hosted checkout page, end to end inside the service:
API checkout -> page -> card -> signed webhook delivered -> subscription / credits."""
import re

import httpx
import pytest
from django.test import Client

from billing.models import Subscription
from billing.tests.conftest import client_poster, outbox
from sandbox import services
from sandbox.models import SandboxSession, SandboxWebhook

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def open_page(api_client, auth, body) -> tuple[Client, str, str]:
    url = api_client.post("/api/payments/checkout", body, format="json", **auth).json()["checkout_url"]
    path = url.removeprefix("http://testserver")
    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.content.decode()).group(1)
    return browser, path, token


def test_paying_with_the_good_card_activates_the_subscription(api_client, auth, customer, pro_plan,
                                                              django_capture_on_commit_callbacks):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = browser.post(path, {"csrf_token": token, "card_number": "4242 4242 4242 4242"})
    assert response.status_code == 303
    assert response["Location"] == "http://testserver/billing?checkout=success"
    assert len(queued) == 1  # the delivery task, enqueued after commit
    webhook = SandboxWebhook.objects.get()
    assert webhook.type == "checkout.session.completed"
    assert services.deliver(webhook.id, post=client_poster(Client())) == services.DELIVERED
    sub = Subscription.objects.get(customer=customer)
    assert sub.status == "active"
    assert [key for key, _ in outbox(customer.user_id)] == ["payments.subscription.activated.v1"]
    # Delivered again (at-least-once): nothing changes.
    SandboxWebhook.objects.filter(pk=webhook.pk).update(delivered_at=None)
    assert services.deliver(webhook.id, post=client_poster(Client())) == services.DELIVERED
    assert Subscription.objects.filter(customer=customer).count() == 1
    # The page now says it is paid, and a second payment is refused.
    again = browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"})
    assert again.status_code == 409


def test_declined_card_keeps_the_session_open(api_client, auth, customer, pro_plan):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    response = browser.post(path, {"csrf_token": token, "card_number": "4000000000000002"})
    assert response.status_code == 402 and b"declined" in response.content
    assert SandboxSession.objects.get().status == "open" and not SandboxWebhook.objects.exists()
    ok = browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"})
    assert ok.status_code == 303


@pytest.mark.parametrize("card,status", [("", 400), ("abcd", 400), ("1" * 40, 400), ("4111111111111111", 402)])
def test_bad_card_numbers(api_client, auth, customer, pro_plan, card, status):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    assert browser.post(path, {"csrf_token": token, "card_number": card}).status_code == status
    assert SandboxSession.objects.get().status == "open"


def test_cross_site_posts_are_refused(api_client, auth, customer, pro_plan):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    attacker = Client()  # no cookie from our page
    assert attacker.post(path, {"csrf_token": token, "card_number": "4242424242424242"}).status_code == 403
    assert browser.post(path, {"csrf_token": "0" * 64, "card_number": "4242424242424242"}).status_code == 403
    assert browser.post(path, {"card_number": "4242424242424242"}).status_code == 403
    assert SandboxSession.objects.get().status == "open"


def test_unknown_sessions_are_404(client):
    assert client.get("/api/payments/sandbox/checkout/cs_sandbox_000000000000000000000000").status_code == 404
    assert client.get("/api/payments/sandbox/checkout/<script>").status_code == 404
    assert client.put("/api/payments/sandbox/checkout/cs_sandbox_000000000000000000000000").status_code == 405


def test_credit_pack_through_the_page(api_client, auth, customer, pack):
    browser, path, token = open_page(api_client, auth, {"credit_pack": "credits-100"})
    assert browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"}).status_code == 303
    services.deliver(SandboxWebhook.objects.get().id, post=client_poster(Client()))
    assert [key for key, _ in outbox(customer.user_id)] == ["payments.credits.granted.v1"]


def test_delivery_outcomes(customer, pro_plan, api_client, auth):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"})
    event_id = SandboxWebhook.objects.get().id

    def down(url, body, headers):
        raise httpx.ConnectError("refused")

    assert services.deliver(event_id, post=down) == services.RETRY
    assert services.deliver(event_id, post=lambda *a: 503) == services.RETRY
    assert services.deliver(event_id, post=lambda *a: 409) == services.RETRY
    webhook = SandboxWebhook.objects.get()
    assert (webhook.attempts, webhook.delivered_at, webhook.last_error) == (3, None, "HTTP 409")
    assert services.deliver(event_id, post=lambda *a: 400) == services.TERMINAL
    assert SandboxWebhook.objects.get().abandoned_at is not None


def test_delivery_gives_up_after_many_attempts(customer, pro_plan, api_client, auth):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"})
    SandboxWebhook.objects.update(attempts=services.MAX_ATTEMPTS)
    assert services.deliver(SandboxWebhook.objects.get().id, post=lambda *a: 200) == services.TERMINAL
    assert services.pending_webhooks(older_than_s=-60) == []


def test_sessions_expire_after_a_day_on_both_sides(api_client, auth, customer, pro_plan):
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import CheckoutSession
    from billing.subscriptions import expire_stale_checkouts
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    SandboxSession.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"}).status_code == 409
    assert not SandboxWebhook.objects.exists()
    assert expire_stale_checkouts() == 0  # billing waits a little longer than the provider
    assert expire_stale_checkouts(timezone.now() + timedelta(hours=26)) == 1
    assert CheckoutSession.objects.get().status == "expired"


@pytest.mark.parametrize("field", [
    {"csrf_token": "é" * 64}, {"csrf_token": "\u2603"}, {"csrf_token": "0" * 5000}, {"csrf_token": ["a", "b"]},
    {"csrf_token": "\x00\xff"}, {},
])
def test_garbage_csrf_tokens_are_403_not_500(api_client, auth, customer, pro_plan, field):
    browser, path, _ = open_page(api_client, auth, {"plan": "pro-monthly"})
    browser.raise_request_exception = False
    response = browser.post(path, {**field, "card_number": "4242424242424242"})
    assert response.status_code == 403
    assert SandboxSession.objects.get().status == "open"


@pytest.mark.parametrize("cookie", ["é" * 40, "\xff\x00" * 20, "x"])  # WSGI hands cookies over as latin-1
def test_garbage_cookies_are_403_not_500(api_client, auth, customer, pro_plan, cookie):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    browser.raise_request_exception = False
    browser.cookies["sandbox_checkout_csrf"] = cookie
    response = browser.post(path, {"csrf_token": token, "card_number": "4242424242424242"})
    assert response.status_code == 403


@pytest.mark.parametrize("card", ["٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "4242\u00a04242\u00a04242\u00a04242", "é" * 100])
def test_non_ascii_card_numbers_are_400(api_client, auth, customer, pro_plan, card):
    browser, path, token = open_page(api_client, auth, {"plan": "pro-monthly"})
    browser.raise_request_exception = False
    response = browser.post(path, {"csrf_token": token, "card_number": card})
    assert response.status_code == 400


def test_a_broken_multipart_body_is_400(api_client, auth, customer, pro_plan):
    browser, path, _ = open_page(api_client, auth, {"plan": "pro-monthly"})
    browser.raise_request_exception = False
    response = browser.generic("POST", path, b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
                               content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
