"""Consuming auth.events: payments' subscription facts become tiers.

Handlers run inside the consumer's transaction together with the inbox row, so a
message delivered twice is applied once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from atelier_contracts import Envelope
from atelier_messaging.consumer import Consumer, PermanentError
from atelier_messaging.django import DjangoUnitOfWork

from . import services

QUEUE = "auth.events"


def _occurred_at(envelope: Envelope) -> datetime:
    try:
        moment = datetime.fromisoformat(envelope.occurred_at.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError(f"occurred_at {envelope.occurred_at!r} is not a timestamp") from exc
    if moment.tzinfo is None:
        raise PermanentError("occurred_at has no time zone")
    return moment


def on_activated(envelope: Envelope, tx: Any) -> None:
    services.subscription_activated(envelope.data, _occurred_at(envelope), envelope.correlation_id)


def on_canceled(envelope: Envelope, tx: Any) -> None:
    services.subscription_canceled(envelope.data, _occurred_at(envelope), envelope.correlation_id)


def on_expired(envelope: Envelope, tx: Any) -> None:
    services.subscription_expired(envelope.data, _occurred_at(envelope), envelope.correlation_id)


HANDLERS = {
    "payments.subscription.activated.v1": on_activated,
    "payments.subscription.canceled.v1": on_canceled,
    "payments.subscription.expired.v1": on_expired,
}


def build_consumer() -> Consumer:
    return Consumer(queue=QUEUE, handlers=HANDLERS, unit_of_work=DjangoUnitOfWork(), name="auth")
