"""Helpers shared by integration tests (no fixtures here)."""
from __future__ import annotations

from datetime import datetime

from atelier_contracts import make_envelope
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork

from app import consumers


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def deliver(factory, routing_key: str, data: dict, producer: str = "auth", message_id: str | None = None):
    """What Consumer.handle does for one message: inbox claim and effect in one transaction."""
    event_type, version = routing_key.rsplit(".", 1)
    envelope = make_envelope(event_type, int(version.removeprefix("v")), data, producer=producer, message_id=message_id)
    unit = SqlAlchemyUnitOfWork(factory)
    with unit.begin() as tx:
        if unit.claim(tx, envelope.id, consumers.QUEUE):
            consumers.HANDLERS[routing_key](envelope, tx)
    return envelope
