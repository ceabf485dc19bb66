"""Outbox and inbox tables, one definition for Django and SQLAlchemy services.

Tables are created unqualified: each service's role has its own schema first on its
search_path. A statement-level trigger sends NOTIFY on insert; Postgres delivers it only
at commit, so the relay wakes for committed messages and never for rolled-back ones.
"""
from __future__ import annotations

import re
from typing import Any

from atelier_contracts import Envelope, encode

from .topology import exchange_for

NOTIFY_CHANNEL = "atelier_outbox"

DDL = (
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id bigserial PRIMARY KEY,
        message_id uuid NOT NULL UNIQUE,
        exchange text NOT NULL,
        routing_key text NOT NULL,
        priority smallint,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
    )
    """,
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE published_at IS NULL",
    """
    CREATE TABLE IF NOT EXISTS inbox (
        message_id uuid NOT NULL,
        consumer text NOT NULL,
        handled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (message_id, consumer)
    )
    """,
    "CREATE INDEX IF NOT EXISTS inbox_handled_at ON inbox (handled_at)",
    f"""
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', TG_TABLE_SCHEMA);
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
)

DROP = (
    "DROP TABLE IF EXISTS outbox",
    "DROP TABLE IF EXISTS inbox",
    "DROP FUNCTION IF EXISTS outbox_notify()",
)

_COLUMNS = ("message_id", "exchange", "routing_key", "priority", "body")
INSERT_OUTBOX_SQL = f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({', '.join(f':{c}' for c in _COLUMNS)})"
CLAIM_INBOX_SQL = "INSERT INTO inbox (message_id, consumer) VALUES (:message_id, :consumer) ON CONFLICT DO NOTHING"


def insert_outbox_rows_sql(count: int, *, prefix: str = "outbox") -> str:
    """One multi-row INSERT for ``count`` messages with uniquely named parameters (fill
    them with ``outbox_rows_params``), so a writer can put its messages into a larger
    statement (a CTE) and save a round trip per message."""
    if count < 1:
        raise ValueError("no outbox rows")
    values = ("(" + ", ".join(f":{prefix}{index}_{column}" for column in _COLUMNS) + ")" for index in range(count))
    return f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES {', '.join(values)}"


def outbox_rows_params(rows: list[dict[str, Any]], *, prefix: str = "outbox") -> dict[str, Any]:
    """The parameters of ``insert_outbox_rows_sql(len(rows))`` for ``outbox_row`` results."""
    return {f"{prefix}{index}_{column}": row[column] for index, row in enumerate(rows) for column in _COLUMNS}


def ddl() -> list[str]:
    return [statement.strip() for statement in DDL]


def outbox_row(envelope: Envelope, *, exchange: str | None = None, priority: int | None = None,
               routing_key: str | None = None) -> dict[str, Any]:
    """Encoding validates the envelope, so a bad message fails the writer's own transaction.
    ``routing_key``: where it is not the envelope's own (a job for a worker pool's queue,
    topology.job_routing_key)."""
    return {
        "message_id": envelope.id,
        "exchange": exchange or exchange_for(envelope.type),
        "routing_key": routing_key or envelope.routing_key,
        "priority": priority,
        "body": encode(envelope).decode(),
    }


def pyformat(sql: str) -> str:
    """``:name`` placeholders (SQLAlchemy) -> ``%(name)s`` (DB-API, for Django and psycopg)."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
