"""Event consumption for payments: which routing keys we handle, and how."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from atelier_contracts import Envelope
from atelier_messaging.consumer import Consumer
from atelier_messaging.django import DjangoUnitOfWork

from .services import register_customer

log = logging.getLogger(__name__)

QUEUE = "payments.events"


def on_user_registered(envelope: Envelope, tx: Any) -> None:
    """auth.user.registered v1 -> the user's customer record. The payload was validated
    against its schema by the consumer, so the keys are present and well-formed."""
    customer, created = register_customer(user_id=envelope.data["user_id"], email=envelope.data["email"])
    log.info("customer %s for user %s %s", customer.pk, customer.user_id, "created" if created else "already existed",
             extra={"message_id": envelope.id, "correlation_id": envelope.correlation_id})


def on_user_deleted(envelope: Envelope, tx: Any) -> None:
    """auth.user.deleted v1 -> forget the person, keep the books (see forget_customer)."""
    from billing.subscriptions import forget_customer

    deleted_at = datetime.fromisoformat(envelope.data["deleted_at"].replace("Z", "+00:00"))
    found = forget_customer(envelope.data["user_id"], deleted_at)
    log.info("user %s deleted: customer %s", envelope.data["user_id"], "anonymised" if found else "did not exist",
             extra={"message_id": envelope.id, "correlation_id": envelope.correlation_id})


HANDLERS = {
    "auth.user.registered.v1": on_user_registered,
    "auth.user.deleted.v1": on_user_deleted,
}


def build_consumer() -> Consumer:
    return Consumer(queue=QUEUE, handlers=HANDLERS, unit_of_work=DjangoUnitOfWork())
