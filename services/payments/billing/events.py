"""The events payments produces, written to the outbox in the caller's transaction."""
from __future__ import annotations

from datetime import datetime, timezone

from atelier_contracts import make_envelope
from atelier_django.request_ids import current_request_id
from atelier_messaging.django import publish_on_commit


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _publish(event_type: str, data: dict) -> None:
    publish_on_commit(make_envelope(event_type, 1, data, producer="payments", correlation_id=current_request_id()))


def subscription_activated(sub, at: datetime) -> None:
    _publish("payments.subscription.activated", {
        "subscription_id": str(sub.id), "user_id": str(sub.customer.user_id), "plan": sub.plan.code,
        "tier": sub.plan.tier, "current_period_end": iso(sub.current_period_end), "activated_at": iso(at)})


def subscription_canceled(sub) -> None:
    _publish("payments.subscription.canceled", {
        "subscription_id": str(sub.id), "user_id": str(sub.customer.user_id), "plan": sub.plan.code,
        "cancel_at": iso(sub.current_period_end), "canceled_at": iso(sub.canceled_at)})


def subscription_past_due(sub, grace_ends_at: datetime) -> None:
    _publish("payments.subscription.past_due", {
        "subscription_id": str(sub.id), "user_id": str(sub.customer.user_id), "plan": sub.plan.code,
        "past_due_since": iso(sub.past_due_since), "grace_ends_at": iso(grace_ends_at)})


def subscription_expired(sub) -> None:
    _publish("payments.subscription.expired", {
        "subscription_id": str(sub.id), "user_id": str(sub.customer.user_id), "plan": sub.plan.code,
        "expired_at": iso(sub.ended_at)})


def credits_granted(*, grant_id, user_id, credits: int, granted_at: datetime, reason: str = "purchase") -> None:
    _publish("payments.credits.granted", {
        "grant_id": str(grant_id), "user_id": str(user_id), "credits": credits, "reason": reason,
        "granted_at": iso(granted_at)})


def refund_issued(refund, user_id) -> None:
    _publish("payments.refund.issued", {
        "refund_id": str(refund.id), "user_id": str(user_id), "amount_cents": refund.amount_cents,
        "currency": refund.payment.currency, "credits_revoked": refund.credits_revoked,
        "issued_at": iso(refund.created_at)})
