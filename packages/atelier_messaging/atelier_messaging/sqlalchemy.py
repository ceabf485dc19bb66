"""SQLAlchemy glue: outbox writes in the caller's session and the inbox unit of work."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from atelier_contracts import Envelope

from .schema import CLAIM_INBOX_SQL, INSERT_OUTBOX_SQL, outbox_row

_INSERT = text(INSERT_OUTBOX_SQL)
_CLAIM = text(CLAIM_INBOX_SQL)


def add_to_outbox(session: Session, envelope: Envelope, *, exchange: str | None = None, priority: int | None = None) -> None:
    """Commits with the caller's transaction, or not at all."""
    session.execute(_INSERT, outbox_row(envelope, exchange=exchange, priority=priority))


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]):
        self.session_factory = session_factory

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self.session_factory() as session, session.begin():
            yield session

    def claim(self, tx: Session, message_id: str, consumer: str) -> bool:
        return tx.execute(_CLAIM, {"message_id": message_id, "consumer": consumer}).rowcount == 1

    def count_inbox(self, sql: str) -> int:
        """One read-only statement for the consumer's metrics (atelier_messaging.metrics)."""
        with self.begin() as session:
            return int(session.execute(text(sql)).scalar_one())
