"""Webhook endpoints (the API's, async) and their deliveries (queued by the job's end and
sent by app.webhook_deliverer, sync).

Deliveries are an outbox: the row is written in the transaction that ends the job, so a job
that ended has its deliveries queued, crash or not. The deliverer claims due rows with
``FOR UPDATE SKIP LOCKED`` and, in the same short statement, pushes their due time past a
lease instead of holding the row lock while it waits for a receiver: several deliverers share
the queue without waiting on each other, no transaction stays open across a network call,
and a delivery whose deliverer died is due again when its lease ends (sent with its id).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

# --- endpoints (API) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    user_id: uuid.UUID
    url: str
    description: str
    secret_encrypted: str
    created_at: datetime
    secret_rotated_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None


class EndpointLimitReached(Exception):
    pass


class EndpointExists(Exception):
    pass


_COLUMNS = "id, user_id, url, description, secret_encrypted, created_at, secret_rotated_at, disabled_at, disabled_reason"
# Per user, so two concurrent registrations cannot both pass the count.
_LOCK_USER = text("SELECT pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || CAST(:user_id AS text), 0))")
_COUNT = text("SELECT count(*) FROM webhook_endpoints WHERE user_id = :user_id")
_INSERT = text(
    f"INSERT INTO webhook_endpoints (id, user_id, url, description, secret_encrypted) "
    f"VALUES (:id, :user_id, :url, :description, :secret) RETURNING {_COLUMNS}"
)
_LIST = text(f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE user_id = :user_id ORDER BY created_at, id")
_ONE = text(f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = :id AND user_id = :user_id")
_DELETE = text("DELETE FROM webhook_endpoints WHERE id = :id AND user_id = :user_id")
_ROTATE = text(
    f"UPDATE webhook_endpoints SET secret_encrypted = :secret, secret_rotated_at = now() "
    f"WHERE id = :id AND user_id = :user_id RETURNING {_COLUMNS}"
)


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(**row._mapping)


async def create_endpoint(
    session: AsyncSession, *, user_id: uuid.UUID, url: str, description: str, secret_encrypted: str, limit: int,
) -> Endpoint:
    try:
        async with session.begin():
            await session.execute(_LOCK_USER, {"user_id": user_id})
            if (await session.execute(_COUNT, {"user_id": user_id})).scalar_one() >= limit:
                raise EndpointLimitReached()
            row = (await session.execute(_INSERT, {
                "id": uuid.uuid4(), "user_id": user_id, "url": url, "description": description, "secret": secret_encrypted,
            })).one()
    except IntegrityError as exc:
        if "webhook_endpoints_user_url" in str(exc.orig):
            raise EndpointExists() from exc
        raise
    return _endpoint(row)


async def list_endpoints(session: AsyncSession, user_id: uuid.UUID) -> list[Endpoint]:
    return [_endpoint(row) for row in await session.execute(_LIST, {"user_id": user_id})]


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID, user_id: uuid.UUID) -> Endpoint | None:
    row = (await session.execute(_ONE, {"id": endpoint_id, "user_id": user_id})).first()
    return _endpoint(row) if row is not None else None


async def delete_endpoint(session: AsyncSession, endpoint_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Its deliveries go with it (ON DELETE CASCADE); one being sent right now is not recorded."""
    async with session.begin():
        return (await session.execute(_DELETE, {"id": endpoint_id, "user_id": user_id})).rowcount == 1


async def rotate_secret(session: AsyncSession, endpoint_id: uuid.UUID, user_id: uuid.UUID, secret_encrypted: str) -> Endpoint | None:
    async with session.begin():
        row = (await session.execute(_ROTATE, {"id": endpoint_id, "user_id": user_id, "secret": secret_encrypted})).first()
    return _endpoint(row) if row is not None else None


def delete_for_user(session: Session, user_id: uuid.UUID) -> int:
    """auth.user.deleted: the account's endpoints and their deliveries."""
    return session.execute(text("DELETE FROM webhook_endpoints WHERE user_id = :user_id"), {"user_id": user_id}).rowcount


# --- deliveries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    job_id: uuid.UUID | None
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_attempt_at: datetime | None
    status_code: int | None
    error: str | None
    duration_ms: float | None
    delivered_at: datetime | None


_DELIVERY_COLUMNS = ("id, endpoint_id, event_type, job_id, status, attempts, next_attempt_at, created_at, last_attempt_at, "
                     "status_code, error, duration_ms, delivered_at")

# One statement whatever the number of endpoints; none (the usual case) costs one index probe.
_ENQUEUE_JOB_END = text("""
    INSERT INTO webhook_deliveries (id, endpoint_id, event_type, job_id)
    SELECT gen_random_uuid(), e.id, :event_type, :job_id FROM webhook_endpoints e
    WHERE e.user_id = :user_id AND e.disabled_at IS NULL
    ON CONFLICT DO NOTHING
""")
_ENQUEUE_PING = text(f"""
    INSERT INTO webhook_deliveries (id, endpoint_id, event_type) VALUES (:id, :endpoint_id, :event_type)
    RETURNING {_DELIVERY_COLUMNS}
""")
_LOG = text(f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = :endpoint_id "
            f"ORDER BY created_at DESC, id DESC LIMIT :limit")
_LOG_BEFORE = text(f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = :endpoint_id "
                   f"AND (created_at, id) < (:before_at, :before_id) ORDER BY created_at DESC, id DESC LIMIT :limit")


def enqueue_job_end(session: Session, *, job_id: uuid.UUID, user_id: uuid.UUID, event_type: str) -> None:
    """Called by the transition that ends the job (app.adapters.job_events), in its transaction."""
    session.execute(_ENQUEUE_JOB_END, {"job_id": job_id, "user_id": user_id, "event_type": event_type})


async def enqueue_ping(session: AsyncSession, endpoint_id: uuid.UUID, event_type: str) -> Delivery:
    async with session.begin():
        row = (await session.execute(_ENQUEUE_PING, {"id": uuid.uuid4(), "endpoint_id": endpoint_id, "event_type": event_type})).one()
    return Delivery(**row._mapping)


async def delivery_log(
    session: AsyncSession, endpoint_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None,
) -> list[Delivery]:
    if before is None:
        result = await session.execute(_LOG, {"endpoint_id": endpoint_id, "limit": limit})
    else:
        result = await session.execute(_LOG_BEFORE, {"endpoint_id": endpoint_id, "limit": limit,
                                                     "before_at": before[0], "before_id": before[1]})
    return [Delivery(**row._mapping) for row in result]


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt, with what sending it needs."""

    id: uuid.UUID
    event_type: str
    job_id: uuid.UUID | None
    attempt: int
    created_at: datetime
    endpoint_id: uuid.UUID
    user_id: uuid.UUID
    url: str
    secret_encrypted: str


_CLAIM = text("""
    WITH due AS (
        SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.disabled_at IS NULL
        ORDER BY d.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => :lease_s)
    FROM due, webhook_endpoints e
    WHERE d.id = due.id AND e.id = d.endpoint_id
    RETURNING d.id, d.event_type, d.job_id, d.attempts AS attempt, d.created_at, d.endpoint_id, e.user_id, e.url,
              e.secret_encrypted
""")
# Each outcome is recorded only by the attempt that claimed the row (attempts = :attempt): a
# deliverer that outlived its lease cannot overwrite what a later attempt recorded.
_RECORD = text("""
    UPDATE webhook_deliveries
    SET status = :status, next_attempt_at = coalesce(:next_attempt_at, next_attempt_at), status_code = :status_code,
        error = :error, duration_ms = :duration_ms,
        delivered_at = CASE WHEN :status = 'delivered' THEN now() ELSE delivered_at END
    WHERE id = :id AND status = 'pending' AND attempts = :attempt
""")
_DISABLE = text("""
    UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = :reason
    WHERE id = :endpoint_id AND disabled_at IS NULL
""")
_FAIL_PENDING = text("""
    UPDATE webhook_deliveries SET status = 'failed', error = :reason
    WHERE endpoint_id = :endpoint_id AND status = 'pending'
""")


def claim_due(session: Session, *, limit: int, lease_s: float) -> list[Claimed]:
    return [Claimed(**row._mapping) for row in session.execute(_CLAIM, {"limit": limit, "lease_s": lease_s})]


def record_attempt(
    session: Session, claimed: Claimed, *, status: str, status_code: int | None, error: str | None,
    duration_ms: float | None, next_attempt_at: datetime | None = None,
) -> bool:
    result = session.execute(_RECORD, {
        "id": claimed.id, "attempt": claimed.attempt, "status": status, "status_code": status_code, "error": error,
        "duration_ms": duration_ms, "next_attempt_at": next_attempt_at,
    })
    return result.rowcount == 1


def disable_endpoint(session: Session, endpoint_id: uuid.UUID, reason: str) -> None:
    """Stops deliveries to it: it is no longer queued for, and what is pending fails."""
    session.execute(_DISABLE, {"endpoint_id": endpoint_id, "reason": reason})
    session.execute(_FAIL_PENDING, {"endpoint_id": endpoint_id, "reason": reason})
