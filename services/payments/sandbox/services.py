"""The sandbox provider's behaviour: sessions, test cards, renewals, and webhook
delivery with the same semantics as a real provider (signed, retried, at least once)."""
from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone as dt_timezone

import httpx
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing.providers.base import sign
from billing.providers.sandbox import SIGNATURE_HEADER

from .models import SandboxSession, SandboxWebhook

log = logging.getLogger(__name__)

# Test card numbers, as documented on the hosted page.
CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_FAILS_LATER = "4000000000000341"
# Hosted sessions expire like Stripe's (24 h); billing expires its open checkouts later than that.
SESSION_TTL = relativedelta(hours=24)
PAYMENT_METHODS = {CARD_SUCCEEDS: "pm_card_visa", CARD_FAILS_LATER: "pm_card_chargeCustomerFail"}
FAILING_METHODS = {"pm_card_chargeCustomerFail"}


class CardDeclined(Exception):
    pass


class SessionClosed(Exception):
    pass


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _period_end(start: datetime, interval: str) -> datetime:
    return start + (relativedelta(years=1) if interval == "year" else relativedelta(months=1))


def open_session(*, mode: str, client_reference_id: str, description: str, amount_cents: int, currency: str,
                 interval: str = "") -> SandboxSession:
    return SandboxSession.objects.create(
        id=_id("cs_sandbox"), mode=mode, client_reference_id=client_reference_id, description=description[:200],
        amount_cents=amount_cents, currency=currency, interval=interval)


def _event(event_id: str, event_type: str, obj: dict, created: datetime) -> SandboxWebhook:
    body = json.dumps({"id": event_id, "object": "event", "type": event_type, "created": int(created.timestamp()),
                       "data": {"object": obj}}, separators=(",", ":"), sort_keys=True)
    webhook = SandboxWebhook.objects.create(id=event_id, type=event_type, body=body)
    transaction.on_commit(lambda: enqueue_delivery(event_id))
    return webhook


def pay(session_id: str, card_number: str) -> SandboxSession:
    """Charge the card for an open session. Raises CardDeclined (the session stays open,
    as on a real hosted page) or SessionClosed (already paid)."""
    with transaction.atomic():
        session = SandboxSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.status != "open" or session.created_at < timezone.now() - SESSION_TTL:
            raise SessionClosed(session_id)
        method = PAYMENT_METHODS.get(card_number)
        if method is None:
            raise CardDeclined("Your card was declined." if card_number == CARD_DECLINED
                               else "Use one of the sandbox test cards listed on this page.")
        now = timezone.now().replace(microsecond=0)
        session.status, session.completed_at, session.payment_method = "complete", now, method
        obj = {"id": session.id, "object": "checkout.session", "mode": session.mode,
               "client_reference_id": session.client_reference_id, "amount_total": session.amount_cents,
               "currency": session.currency.lower(), "payment_status": "paid",
               "payment_intent": _id("pi_sandbox")}
        if session.mode == "subscription":
            session.subscription_id = _id("sub_sandbox")
            # The first period's invoice travels with the session (one payment, one record).
            obj.update(subscription=session.subscription_id, invoice=_id("in_sandbox"),
                       current_period_start=int(now.timestamp()),
                       current_period_end=int(_period_end(now, session.interval).timestamp()))
        session.save(update_fields=["status", "completed_at", "payment_method", "subscription_id"])
        _event(_id("evt_sandbox"), "checkout.session.completed", obj, now)
    return session


def charge_renewal(subscription_id: str, *, after: datetime) -> SandboxWebhook | None:
    """Charge the period that starts at ``after``, spending account credit first. The event id
    is derived from the subscription and period, so running the renewal task twice charges once."""
    stamp = int(after.timestamp())
    event_id = f"evt_renew_{subscription_id}_{stamp}"
    try:
        with transaction.atomic():
            session = SandboxSession.objects.select_for_update().filter(
                subscription_id=subscription_id, status="complete").first()
            if session is None:
                return None
            fails = session.payment_method in FAILING_METHODS
            spent = 0 if fails else min(session.credit_cents, session.amount_cents)
            obj = {"id": f"in_{subscription_id}_{stamp}", "object": "invoice", "subscription": subscription_id,
                   "currency": session.currency.lower(), "period_start": stamp,
                   "period_end": int(_period_end(after, session.interval).timestamp()),
                   "total": session.amount_cents, "starting_balance": -session.credit_cents,
                   "ending_balance": -(session.credit_cents - spent),
                   "amount_paid" if not fails else "amount_due": session.amount_cents - spent}
            webhook = _event(event_id, "invoice.payment_failed" if fails else "invoice.paid", obj, timezone.now())
            if spent:
                SandboxSession.objects.filter(pk=session.pk).update(credit_cents=F("credit_cents") - spent)
            return webhook
    except IntegrityError:
        return None  # already charged for this period


def change_plan(subscription_id: str, *, amount_cents: int, description: str, period_start: datetime,
                period_end: datetime, at: datetime) -> dict:
    """Switch the subscription's price now and invoice the proration at once (Stripe's
    always_invoice): the unused time on the old price is credited, the rest of the period on the
    new price charged; a negative total stays on the account as credit, and credit already held
    pays first. A card that fails renewals fails here too (payment_behavior=error_if_incomplete).
    Returns the invoice as a dict (``id``, ``amount_paid``, ``starting_balance``, ``ending_balance``)."""
    from billing.proration import prorate

    with transaction.atomic():
        session = SandboxSession.objects.select_for_update().filter(subscription_id=subscription_id,
                                                                     status="complete").first()
        if session is None:
            raise SessionClosed(subscription_id)
        net = prorate(old_price_cents=session.amount_cents, new_price_cents=amount_cents, period_start=period_start,
                      period_end=period_end, at=at).net_cents
        spent = min(session.credit_cents, max(0, net))
        paid = max(0, net) - spent
        if paid and session.payment_method in FAILING_METHODS:
            raise CardDeclined("Your card was declined.")
        before, after = session.credit_cents, session.credit_cents - spent + max(0, -net)
        session.amount_cents, session.description, session.credit_cents = amount_cents, description[:200], after
        session.save(update_fields=["amount_cents", "description", "credit_cents"])
        invoice = {"id": _id("in_sandbox"), "object": "invoice", "subscription": subscription_id,
                   "billing_reason": "subscription_update", "currency": session.currency.lower(), "total": net,
                   "amount_paid": paid, "starting_balance": -before, "ending_balance": -after,
                   "period_start": int(at.timestamp()), "period_end": int(period_end.timestamp())}
        _event(_id("evt_sandbox"), "invoice.paid", invoice, at)
    return invoice


# --- delivery ------------------------------------------------------------------------------

DELIVERED, RETRY, TERMINAL = "delivered", "retry", "terminal"
# Like a real provider, stop after a few days of failures (task retries plus the sweep).
MAX_ATTEMPTS = 60
Poster = Callable[[str, bytes, dict[str, str]], int]


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    response = httpx.post(url, content=body, headers=headers, timeout=settings.PAYMENTS_HTTP_TIMEOUT_S)
    return response.status_code


def deliver(event_id: str, *, post: Poster = http_post, now: float | None = None) -> str:
    """One delivery attempt, signed afresh (a real provider signs every attempt).
    2xx delivered; 5xx, 409, 429 and network errors retry; other 4xx are terminal."""
    webhook = SandboxWebhook.objects.filter(pk=event_id).first()
    if webhook is None or webhook.delivered_at or webhook.abandoned_at:
        return DELIVERED if webhook and webhook.delivered_at else TERMINAL
    if webhook.attempts >= MAX_ATTEMPTS:
        SandboxWebhook.objects.filter(pk=event_id).update(abandoned_at=timezone.now())
        return TERMINAL
    body = webhook.body.encode()
    headers = {"Content-Type": "application/json",
               SIGNATURE_HEADER: sign(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, body, int(now or time.time()))}
    SandboxWebhook.objects.filter(pk=event_id).update(attempts=F("attempts") + 1)
    try:
        status = post(settings.PAYMENTS_SANDBOX_WEBHOOK_URL, body, headers)
    except httpx.HTTPError as exc:
        SandboxWebhook.objects.filter(pk=event_id).update(last_error=f"{type(exc).__name__}: {exc}"[:500])
        return RETRY
    if 200 <= status < 300:
        SandboxWebhook.objects.filter(pk=event_id, delivered_at__isnull=True).update(delivered_at=timezone.now(), last_error="")
        return DELIVERED
    SandboxWebhook.objects.filter(pk=event_id).update(last_error=f"HTTP {status}")
    if status >= 500 or status in (409, 429):
        return RETRY
    SandboxWebhook.objects.filter(pk=event_id).update(abandoned_at=timezone.now())
    return TERMINAL


def enqueue_delivery(event_id: str) -> None:
    """Hand the delivery to the worker. A broker outage is not fatal: the periodic
    sweep re-enqueues whatever stayed undelivered."""
    from .tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(args=(event_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweep recovers
        log.warning("could not enqueue webhook %s: %s", event_id, exc)


def pending_webhooks(older_than_s: int = 60) -> list[str]:
    cutoff = datetime.now(dt_timezone.utc) - relativedelta(seconds=older_than_s)
    return list(SandboxWebhook.objects.filter(delivered_at__isnull=True, abandoned_at__isnull=True,
                                              created_at__lt=cutoff).values_list("id", flat=True)[:500])
