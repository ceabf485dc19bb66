"""Django glue: outbox writes inside ``transaction.atomic()``, the inbox unit of work,
the migration operations that create both tables, and the consumer command's base."""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections, migrations, transaction

from atelier_contracts import Envelope
from atelier_kit import tracing

from .consumer import Consumer
from .schema import CLAIM_INBOX_SQL, DDL, DROP, INSERT_OUTBOX_SQL, outbox_row, pyformat


class OutsideTransaction(RuntimeError):
    pass


def publish_on_commit(envelope: Envelope, *, exchange: str | None = None, priority: int | None = None, using: str = "default") -> None:
    """Write the message to the outbox in the caller's transaction; the relay sends it
    after commit. Refuses to run outside ``atomic()`` so state and message cannot part."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise OutsideTransaction("publish_on_commit must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(pyformat(INSERT_OUTBOX_SQL), outbox_row(envelope, exchange=exchange, priority=priority))


class DjangoUnitOfWork:
    def __init__(self, using: str = "default"):
        self.using = using

    @contextmanager
    def begin(self) -> Iterator[Any]:
        # A long-lived consumer must not reuse a connection the server has dropped.
        close_old_connections()
        with transaction.atomic(using=self.using):
            yield connections[self.using]

    def claim(self, tx: Any, message_id: str, consumer: str) -> bool:
        with tx.cursor() as cursor:
            cursor.execute(pyformat(CLAIM_INBOX_SQL), {"message_id": message_id, "consumer": consumer})
            return cursor.rowcount == 1

    def count_inbox(self, sql: str) -> int:
        """One read-only statement for the consumer's metrics (atelier_messaging.metrics)."""
        with self.begin() as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return int(cursor.fetchone()[0])


def messaging_tables_operations() -> list[migrations.RunSQL]:
    return [migrations.RunSQL(sql=list(DDL), reverse_sql=list(DROP))]


class ConsumeEventsCommand(BaseCommand):
    """Base of a service's ``manage.py consume_events``: runs the consumer that
    ``consumer_factory`` builds until SIGTERM/SIGINT, finishing the message in hand, so
    the process manager can stop it without losing or double-applying anything."""

    help = "Consume this service's event queue until stopped."
    consumer_factory: Callable[[], Consumer]

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--drain", action="store_true", help="Handle what is queued, then exit (catch-up and tests).")

    def handle(self, *args: Any, **options: Any) -> None:
        consumer = type(self).consumer_factory()
        tracing.setup_tracing(getattr(settings, "ATELIER_SERVICE_NAME", None) or consumer.name, "consumer")
        if options["drain"]:
            handled = consumer.drain(settings.ATELIER_AMQP_URL)
            self.stdout.write(f"handled {handled} message(s)")
            return
        signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        signal.signal(signal.SIGINT, lambda *_: consumer.stop())
        try:
            consumer.run(settings.ATELIER_AMQP_URL)
        finally:
            tracing.shutdown_tracing()  # flush the last spans
