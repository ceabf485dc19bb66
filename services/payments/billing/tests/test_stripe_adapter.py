"""Integration (loopback only): the Stripe adapter talks to a local fake of Stripe's API
through the real stripe library; no request leaves the machine."""
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest
import stripe

from billing.providers.base import ProviderError
from billing.providers.stripe import StripeProvider

pytestmark = pytest.mark.integration


class FakeStripe(BaseHTTPRequestHandler):
    requests: list = []
    fail_with: int | None = None

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        FakeStripe.requests.append((self.path, parse_qs(body), dict(self.headers)))
        if FakeStripe.fail_with:
            self._answer(FakeStripe.fail_with, {"error": {"type": "invalid_request_error", "message": "nope"}})
        elif self.path == "/v1/checkout/sessions":
            self._answer(200, {"id": "cs_test_fake", "object": "checkout.session", "url": "https://checkout.example/cs_test_fake"})
        elif self.path.startswith("/v1/subscriptions/"):
            # With expand[]=latest_invoice (a plan change), the invoice Stripe made for it comes back.
            invoice = {"id": "in_change", "object": "invoice", "amount_paid": 4350, "starting_balance": -100,
                       "ending_balance": 0}
            self._answer(200, {"id": self.path.rsplit("/", 1)[1], "object": "subscription", "cancel_at_period_end": True,
                               "latest_invoice": invoice})
        elif self.path == "/v1/refunds":
            self._answer(200, {"id": "re_fake", "object": "refund"})
        else:
            self._answer(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})

    def do_GET(self):  # noqa: N802 - http.server's naming
        FakeStripe.requests.append((self.path, {}, dict(self.headers)))
        if self.path.startswith("/v1/subscriptions/"):
            item = {"id": "si_1", "object": "subscription_item", "price": {"id": "price_1", "product": "prod_1"}}
            self._answer(200, {"id": self.path.rsplit("/", 1)[1], "object": "subscription",
                               "items": {"object": "list", "data": [item]}})
        else:
            self._answer(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_stripe():
    FakeStripe.requests, FakeStripe.fail_with = [], None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = stripe.StripeClient("sk_test_fake", base_addresses={"api": f"http://127.0.0.1:{server.server_port}"},
                                 http_client=stripe.RequestsClient(timeout=5), max_network_retries=0)
    yield StripeProvider(client=client, webhook_secret="whsec_x")
    server.shutdown()


def checkout(plan=True):
    item = SimpleNamespace(name="Pro", interval="month")
    return SimpleNamespace(id=uuid.uuid4(), plan=item if plan else None, credit_pack=None if plan else item,
                           amount_cents=1200, currency="USD", customer=SimpleNamespace(user_id=uuid.uuid4()))


def test_checkout_session_is_created_with_our_reference(fake_stripe):
    order = checkout()
    started = fake_stripe.create_checkout(order, success_url="http://x/ok", cancel_url="http://x/no")
    assert (started.provider_session_id, started.url) == ("cs_test_fake", "https://checkout.example/cs_test_fake")
    path, form, headers = FakeStripe.requests[0]
    assert path == "/v1/checkout/sessions"
    assert form["mode"] == ["subscription"] and form["client_reference_id"] == [str(order.id)]
    assert form["line_items[0][price_data][recurring][interval]"] == ["month"]
    assert headers["Idempotency-Key"] == f"checkout-{order.id}"


def test_cancel_and_refund_reach_the_api(fake_stripe):
    fake_stripe.cancel_at_period_end(SimpleNamespace(id=uuid.uuid4(), provider_subscription_id="sub_1"))
    refund_id = fake_stripe.refund(SimpleNamespace(id=uuid.uuid4(), provider_payment_id="pi_1"), 500,
                                   idempotency_key="k1")
    assert refund_id == "re_fake"
    assert [r[0] for r in FakeStripe.requests] == ["/v1/subscriptions/sub_1", "/v1/refunds"]


def test_resume_asks_stripe_to_renew_again_once_per_cancellation(fake_stripe):
    from datetime import datetime, timezone

    sub = SimpleNamespace(id=uuid.uuid4(), provider_subscription_id="sub_1", canceled_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    fake_stripe.resume(sub)
    path, form, headers = FakeStripe.requests[-1]
    assert path == "/v1/subscriptions/sub_1" and form == {"cancel_at_period_end": ["false"]}
    assert headers["Idempotency-Key"] == f"resume-{sub.id}-{int(sub.canceled_at.timestamp())}"


def test_a_plan_change_swaps_the_item_prorated_and_invoiced_now(fake_stripe):
    from datetime import datetime, timezone

    sub = SimpleNamespace(id=uuid.uuid4(), provider_subscription_id="sub_1")
    plan = SimpleNamespace(code="partner-monthly", price_cents=9900, currency="USD", interval="month")
    at = datetime(2030, 1, 15, tzinfo=timezone.utc)
    change = fake_stripe.change_plan(sub, plan, proration_date=at)
    assert (change.invoice_id, change.amount_paid_cents, change.balance_applied_cents, change.balance_credited_cents) == (
        "in_change", 4350, 100, 0)
    assert [r[0] for r in FakeStripe.requests] == ["/v1/subscriptions/sub_1", "/v1/subscriptions/sub_1"]
    _, form, headers = FakeStripe.requests[-1]
    assert form["items[0][id]"] == ["si_1"] and form["items[0][price_data][product]"] == ["prod_1"]
    assert form["items[0][price_data][unit_amount]"] == ["9900"] and form["items[0][price_data][currency]"] == ["usd"]
    assert form["items[0][price_data][recurring][interval]"] == ["month"]
    assert form["proration_behavior"] == ["always_invoice"] and form["proration_date"] == [str(int(at.timestamp()))]
    assert form["payment_behavior"] == ["error_if_incomplete"] and form["expand[0]"] == ["latest_invoice"]
    assert headers["Idempotency-Key"] == f"change-{sub.id}-partner-monthly-{int(at.timestamp())}"


def test_api_refusals_become_terminal_provider_errors(fake_stripe):
    FakeStripe.fail_with = 400
    with pytest.raises(ProviderError) as caught:
        fake_stripe.create_checkout(checkout(plan=False), success_url="http://x", cancel_url="http://x")
    assert caught.value.retryable is False
    FakeStripe.fail_with = 503
    with pytest.raises(ProviderError) as caught:
        fake_stripe.create_checkout(checkout(), success_url="http://x", cancel_url="http://x")
    assert caught.value.retryable is True
