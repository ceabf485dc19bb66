"""Stripe-shaped event JSON -> ProviderEvent. The sandbox emits the same shapes as
Stripe, so both adapters share this translation."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from atelier_django.timestamps import MAX_UNIX_TIMESTAMP

from .base import (CHECKOUT_COMPLETED, IGNORED, INVOICE_FAILED, INVOICE_PAID, SUBSCRIPTION_ENDED, ProviderEvent,
                   WebhookError)

TYPES = {
    "checkout.session.completed": CHECKOUT_COMPLETED,
    "invoice.paid": INVOICE_PAID,
    "invoice.payment_failed": INVOICE_FAILED,
    "customer.subscription.deleted": SUBSCRIPTION_ENDED,
}


def _ts(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    # Past year 9999 datetime overflows: such a value is a bad payload, not a server error.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_UNIX_TIMESTAMP:
        raise WebhookError("invalid_payload", f"{name} must be a unix timestamp")
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _str(obj: dict, name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, dict):  # expanded object
        value = value.get("id")
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise WebhookError("invalid_payload", f"{name} must be a string id")
    return value


def _int(obj: dict, name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise WebhookError("invalid_payload", f"{name} must be a non-negative integer")
    return value


def _signed_int(obj: dict, name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 < value < 2**31:
        raise WebhookError("invalid_payload", f"{name} must be an integer")
    return value


def _balance_applied(obj: dict) -> int:
    """Account credit the invoice spent: Stripe keeps a customer's credit as a negative
    balance, so spending it moves ``ending_balance`` up from ``starting_balance``."""
    start, end = _signed_int(obj, "starting_balance"), _signed_int(obj, "ending_balance")
    return max(0, end - start) if start is not None and end is not None else 0


def _invoice_subscription(obj: dict) -> str | None:
    if obj.get("subscription") is not None:
        return _str(obj, "subscription")
    parent = obj.get("parent")
    details = (parent.get("subscription_details") if isinstance(parent, dict) else None) or {}
    return _str(details, "subscription") if isinstance(details, dict) else None


def _invoice_period(obj: dict) -> tuple[Any, Any]:
    lines = (obj.get("lines") or {}).get("data") if isinstance(obj.get("lines"), dict) else None
    if isinstance(lines, list) and lines and isinstance(lines[0], dict) and isinstance(lines[0].get("period"), dict):
        period = lines[0]["period"]
        return period.get("start"), period.get("end")
    return obj.get("period_start"), obj.get("period_end")


def translate(payload: Any) -> ProviderEvent:
    if not isinstance(payload, dict):
        raise WebhookError("invalid_payload", "event must be a JSON object")
    event_id, event_type = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255 or not isinstance(event_type, str):
        raise WebhookError("invalid_payload", "event needs string id and type")
    created = _ts(payload.get("created"), "created")
    obj = (payload.get("data") or {}).get("object") if isinstance(payload.get("data"), dict) else None
    if created is None or not isinstance(obj, dict):
        raise WebhookError("invalid_payload", "event needs created and data.object")
    kind = TYPES.get(event_type, IGNORED)
    common = {"id": event_id, "type": kind, "created": created, "raw": payload}
    if kind == CHECKOUT_COMPLETED:
        currency = _str(obj, "currency")
        return ProviderEvent(
            **common, checkout_session_id=_str(obj, "id"), client_reference_id=_str(obj, "client_reference_id"),
            subscription_id=_str(obj, "subscription"),
            payment_id=_str(obj, "invoice") or _str(obj, "payment_intent") or _str(obj, "id"),
            amount_cents=_int(obj, "amount_total"), currency=currency.upper() if currency else None,
            period_start=_ts(obj.get("current_period_start"), "current_period_start"),
            period_end=_ts(obj.get("current_period_end"), "current_period_end"))
    if kind in (INVOICE_PAID, INVOICE_FAILED):
        start, end = _invoice_period(obj)
        currency = _str(obj, "currency")
        amount = _int(obj, "amount_paid") if kind == INVOICE_PAID else _int(obj, "amount_due")
        return ProviderEvent(
            **common, subscription_id=_invoice_subscription(obj), payment_id=_str(obj, "id"),
            amount_cents=amount, currency=currency.upper() if currency else None,
            period_start=_ts(start, "period_start"), period_end=_ts(end, "period_end"),
            balance_applied_cents=_balance_applied(obj) if kind == INVOICE_PAID else 0)
    if kind == SUBSCRIPTION_ENDED:
        return ProviderEvent(**common, subscription_id=_str(obj, "id"))
    return ProviderEvent(**common)
