"""Integration: refunds (service and admin action), account deletion, and the admin's
access rules (staff only, CSRF on forms)."""
import uuid

import pytest
from atelier_contracts import make_envelope
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from billing.checkout import start_checkout
from billing.models import Payment, Refund, Subscription
from billing.refunds import RefundError, issue_refund
from customers.events import on_user_deleted
from customers.models import Customer
from ledger.models import LedgerTransaction
from ledger.services import credit_balance

from .conftest import checkout_completed, outbox, post_webhook

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def buy_pack(client, customer) -> Payment:
    checkout = start_checkout(user_id=str(customer.user_id), pack_code="credits-100")
    post_webhook(client, checkout_completed(checkout, event_id=f"evt_{uuid.uuid4().hex}"))
    return Payment.objects.get(customer=customer)


def test_full_refund_withdraws_the_credits_and_announces_it(client, customer, pack):
    payment = buy_pack(client, customer)
    refund = issue_refund(payment.pk, reason="asked nicely")
    assert (refund.amount_cents, refund.credits_revoked) == (500, 100)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_cents) == ("refunded", 500)
    assert credit_balance(customer.user_id) == 0
    key, data = outbox(customer.user_id)[-1]
    assert key == "payments.refund.issued.v1"
    assert (data["amount_cents"], data["credits_revoked"], data["currency"]) == (500, 100, "USD")
    with pytest.raises(RefundError):
        issue_refund(payment.pk)  # nothing left


def test_partial_refunds_add_up_and_never_exceed_the_payment(client, customer, pack):
    payment = buy_pack(client, customer)
    first = issue_refund(payment.pk, amount_cents=200)
    assert first.credits_revoked == 40
    for bad in (0, -1, 301, "100", True):
        with pytest.raises(RefundError):
            issue_refund(payment.pk, amount_cents=bad)
    issue_refund(payment.pk, amount_cents=300)
    assert Refund.objects.filter(payment=payment).count() == 2
    assert credit_balance(customer.user_id) == 0
    with pytest.raises(RefundError):
        issue_refund(uuid.uuid4())


def test_user_deleted_forgets_the_person_but_keeps_the_books(client, customer, pro_plan):
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    post_webhook(client, checkout_completed(checkout))
    events_before = len(outbox(customer.user_id))
    envelope = make_envelope("auth.user.deleted", 1, {"user_id": str(customer.user_id),
                                                      "deleted_at": "2026-11-23T18:00:00Z"}, producer="auth")
    on_user_deleted(envelope, connection)
    on_user_deleted(envelope, connection)  # redelivered: nothing more happens
    gone = Customer.objects.get(pk=customer.pk)
    assert (gone.email, gone.deleted_at is not None) == ("", True)
    assert Subscription.objects.get(customer=customer).status == "expired"
    assert len(outbox(customer.user_id)) == events_before  # no event storm
    assert LedgerTransaction.objects.filter(user_id=customer.user_id).count() == 1


def test_user_deleted_for_an_unknown_user_is_fine():
    envelope = make_envelope("auth.user.deleted", 1, {"user_id": str(uuid.uuid4()),
                                                      "deleted_at": "2026-11-23T18:00:00Z"}, producer="auth")
    on_user_deleted(envelope, connection)


def test_every_bound_routing_key_has_a_handler():
    from atelier_messaging.topology import EVENT_QUEUES

    from customers.events import HANDLERS, QUEUE
    assert set(EVENT_QUEUES[QUEUE]) <= set(HANDLERS)


# --- admin ------------------------------------------------------------------------------

@pytest.fixture
def staff():
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "a-long-admin-password-1")


def test_admin_requires_staff(customer):
    anonymous = Client()
    assert anonymous.get("/admin/payments/billing/payment/").status_code == 302
    user = get_user_model().objects.create_user("plain", "p@example.com", "a-long-user-password-1")
    plain = Client()
    plain.force_login(user)
    assert plain.get("/admin/payments/billing/payment/").status_code == 302


def test_admin_login_and_forms_require_csrf(staff):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/admin/payments/login/", {"username": "boss", "password": "a-long-admin-password-1"})
    assert response.status_code == 403
    browser.force_login(staff)
    response = browser.post("/admin/payments/plans/creditpack/add/", {"code": "x", "name": "x", "credits": 1,
                                                                      "price_cents": 1, "currency": "USD"})
    assert response.status_code == 403


def test_admin_refund_action_and_read_only_ledger(client, customer, pack, staff):
    payment = buy_pack(client, customer)
    admin = Client()
    admin.force_login(staff)
    for page in ("billing/payment/", "billing/subscription/", "ledger/ledgertransaction/", "plans/plan/",
                 "plans/creditpack/", "customers/customer/", f"billing/payment/{payment.pk}/change/"):
        assert admin.get(f"/admin/payments/{page}").status_code == 200, page
    tx = LedgerTransaction.objects.filter(user_id=customer.user_id).first()
    assert admin.get(f"/admin/payments/ledger/ledgertransaction/{tx.pk}/delete/").status_code == 403
    assert admin.get("/admin/payments/ledger/ledgertransaction/add/").status_code == 403
    response = admin.post("/admin/payments/billing/payment/", {"action": "refund_in_full",
                                                              "_selected_action": [str(payment.pk)]})
    assert response.status_code == 302
    assert Payment.objects.get(pk=payment.pk).status == "refunded"
    assert outbox(customer.user_id)[-1][0] == "payments.refund.issued.v1"
