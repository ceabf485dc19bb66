"""Admission in one transaction: the caller's account row is locked first (an upsert
that takes the row lock), so all submits of one user are serialised there; under that
lock the idempotency key, the concurrency count, the daily allowance and the credits
are read, and the reservation is written together with the job and its outbox messages.
Nothing is checked in one transaction and acted on in another.

The statements are plain SQL on one connection, a round trip each: lock the account
(with the API key's row), count what is live, then one statement that writes the
reservation, the job and its messages and returns the job's queue position. A submit is
BEGIN, three statements and COMMIT; it used to be twenty round trips through the ORM. The
three run on psycopg's own connection inside that transaction (app.adapters.driver_sql).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Protocol, Sequence

from atelier_contracts import Envelope
from atelier_messaging.schema import insert_outbox_rows_sql, outbox_row, outbox_rows_params
from atelier_messaging.topology import job_routing_key
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.adapters.driver_sql import DriverStatement, fetch_one
from app.adapters.jobs_repo import QUEUE_POSITION_SQL, JobView, NewJob
from app.adapters.models import Account, ApiKey
from app.domain.lifecycle import QUEUED, RUNNING
from app.domain.policy import TierLimits


class Budget(Protocol):
    """app.api.access.Budget: a concurrency cap over the user's or the key's live jobs."""

    scope: str
    concurrency: int


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class AccountState:
    user_id: uuid.UUID
    tier: str | None
    verified: bool | None
    credits: int
    deleted: bool
    allowance_day: date | None
    allowance_used: int


@dataclass(frozen=True)
class KeyState:
    tier: str | None
    limits: dict[str, Any] | None
    revoked: bool


@dataclass(frozen=True)
class Projection:
    """Duck-typed: the ORM rows (usage) or the states read under the lock (submit)."""

    account: Account | AccountState | None
    api_key: KeyState | None


async def read_projection(session: AsyncSession, user_id: uuid.UUID, key_id: str | None) -> Projection:
    account = (await session.execute(select(Account).where(Account.user_id == user_id))).scalar_one_or_none()
    api_key = None
    key_uuid = _key_uuid(key_id)
    if key_uuid is not None:
        row = (await session.execute(select(ApiKey).where(ApiKey.key_id == key_uuid))).scalar_one_or_none()
        if row is not None:
            api_key = KeyState(tier=row.tier, limits=row.limits, revoked=row.is_revoked(datetime.now(timezone.utc)))
    # Ends the read-only transaction (commit: unlike rollback it does not expire what was read).
    await session.commit()
    return Projection(account, api_key)


def _key_uuid(key_id: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(key_id) if key_id else None
    except ValueError:
        return None


def seconds_to_midnight(now: datetime) -> int:
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=timezone.utc)
    return max(1, int((tomorrow - now).total_seconds()))


# Live jobs the caller's concurrency caps count: all of the user's (every key and session),
# and of those the ones made with this API key. Admission counts them under the account
# lock (_LIVE); /usage on its own.
_ACTIVE_SQL = f"""
    SELECT count(*) AS user_active, count(*) FILTER (WHERE api_key_id = CAST(:key_id AS text)) AS key_active
    FROM jobs WHERE user_id = :user_id AND status IN ('{QUEUED}', '{RUNNING}')
"""
_ACTIVE = text(_ACTIVE_SQL)


@dataclass(frozen=True)
class LiveJobs:
    user: int
    key: int

    def of(self, scope: str) -> int:
        return self.key if scope == "key" else self.user


async def count_active(session: AsyncSession, user_id: uuid.UUID, key_id: str | None) -> LiveJobs:
    row = (await session.execute(_ACTIVE, {"user_id": user_id, "key_id": key_id or None})).one()
    return LiveJobs(row.user_active, row.key_active)


def allowance_used_on(account: Account | AccountState, today: date) -> int:
    """The daily counter belongs to ``allowance_day``: on any other day nothing is used yet."""
    return account.allowance_used if account.allowance_day == today else 0


def split_charge(account: Account | AccountState, images: int, images_per_day: int, today: date) -> tuple[int, int]:
    """Allowance first, then purchased credits; (from_allowance, from_credits)."""
    used = allowance_used_on(account, today)
    from_allowance = min(images, max(0, images_per_day - used))
    return from_allowance, images - from_allowance


# ON CONFLICT DO UPDATE (a no-op update) takes the row lock and returns the row whether it
# was just made or already there; FOR UPDATE cannot lock a row the same statement inserts.
_LOCK_ACCOUNT = DriverStatement("""
    WITH account AS (
        INSERT INTO accounts (user_id) VALUES (:user_id)
        ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
        RETURNING user_id, tier, verified, credits, deleted, allowance_day, allowance_used
    )
    SELECT account.*, k.tier AS key_tier, k.limits AS key_limits, (k.revoked OR k.revoked_at <= now()) IS TRUE AS key_revoked, k.key_id IS NOT NULL AS key_known
    FROM account LEFT JOIN api_keys k ON k.key_id = :key_id
""")

# Under the lock, so a concurrent submit of the same caller is counted once it committed.
_LIVE = DriverStatement(f"""
    SELECT
        active.user_active, active.key_active,
        (SELECT priority FROM jobs WHERE status = '{QUEUED}' AND pool = :pool AND priority < :priority
            AND created_at < :cutoff ORDER BY priority DESC LIMIT 1) AS starving
    FROM ({_ACTIVE_SQL}) AS active
""")

_JOB_COLUMNS = (
    "id", "user_id", "api_key_id", "tier", "kind", "status", "params", "priority", "progress", "idempotency_key",
    "request_fingerprint", "deadline_at", "created_at", "updated_at", "cost", "reserved_allowance",
    "reserved_credits", "reservation_day", "pool",
)


@dataclass(frozen=True)
class Reservation:
    """What a job takes from the caller's account, and the account's allowance after it."""

    from_allowance: int
    from_credits: int
    day: date
    allowance_used: int


@dataclass
class Admission:
    """An open admission: the caller's account is locked until the transaction ends."""

    conn: AsyncConnection
    user_id: uuid.UUID
    api_key_id: str | None
    account: AccountState
    api_key: KeyState | None

    @property
    def projection(self) -> Projection:
        return Projection(self.account, self.api_key)

    async def live(self, tier_priority: int, starving_cutoff: datetime, pool: str) -> tuple[LiveJobs, int | None]:
        """(live jobs the caller's caps count, the highest lower priority that has waited in
        ``pool``'s queue since before the cutoff or None: other pools' queues are not this one's)."""
        row = await fetch_one(self.conn, _LIVE, {
            "user_id": self.user_id, "key_id": self.api_key_id, "priority": tier_priority, "cutoff": starving_cutoff,
            "pool": pool,
        })
        return LiveJobs(row.user_active, row.key_active), row.starving

    def reserve(self, images: int, limits: TierLimits, budgets: Sequence[Budget], live: LiveJobs, now: datetime) -> Reservation:
        """Refuses over any budget's concurrency cap or the quota; else what the job takes."""
        for budget in budgets:
            active = live.of(budget.scope)
            if active >= budget.concurrency:
                whose = "with this API key" if budget.scope == "key" else "queued or running"
                raise Refused(429, "concurrency_limit", f"you have {active} jobs {whose}; your limit is {budget.concurrency}", retry_after_s=5)
        account = self.account
        today = now.astimezone(timezone.utc).date()
        from_allowance, from_credits = split_charge(account, images, limits.images_per_day, today)
        if from_credits > account.credits:
            raise Refused(
                429, "quota_exceeded",
                f"your daily allowance of {limits.images_per_day} images is used up and you have {account.credits} credits",
                retry_after_s=seconds_to_midnight(now),
            )
        return Reservation(from_allowance, from_credits, today, allowance_used_on(account, today) + from_allowance)

    async def insert(self, new_job: NewJob, reservation: Reservation, envelopes: list[Envelope]) -> JobView:
        """Writes the reservation, the job and its messages; returns the job as the API
        shows it. ``envelopes``: inference.job.requested first (it carries the priority)."""
        requested, *others = envelopes
        to_pool = job_routing_key(requested.routing_key, new_job.pool)
        rows = [outbox_row(requested, priority=new_job.priority, routing_key=to_pool)] + [outbox_row(e) for e in others]
        params = {
            **new_job.__dict__, "status": QUEUED, "progress": 0.0, "updated_at": new_job.created_at,
            "params": json.dumps(new_job.params), "reserved_allowance": reservation.from_allowance,
            "reserved_credits": reservation.from_credits, "reservation_day": reservation.day,
            "allowance_used": reservation.allowance_used, **outbox_rows_params(rows),
        }
        # A unique violation (the same Idempotency-Key) cannot happen under the lock; if it
        # did, the whole statement fails and nothing of it is written.
        queue_position = (await fetch_one(self.conn, _insert_statement(len(rows)), params))[0]
        return JobView(
            id=new_job.id, status=QUEUED, step=None, total_steps=None, progress=0.0, error_code=None,
            error_message=None, params=new_job.params, created_at=new_job.created_at, started_at=None,
            finished_at=None, request_fingerprint=new_job.request_fingerprint, queue_position=queue_position,
        )


@lru_cache(maxsize=8)
def _insert_statement(messages: int) -> DriverStatement:
    job_values = ", ".join("CAST(:params AS jsonb)" if c == "params" else f":{c}" for c in _JOB_COLUMNS)
    position = QUEUE_POSITION_SQL.format(pool=":pool", priority=":priority", created_at=":created_at")
    return DriverStatement(f"""
        WITH reservation AS (
            UPDATE accounts SET allowance_day = :reservation_day, allowance_used = :allowance_used,
                                credits = credits - :reserved_credits, updated_at = now()
            WHERE user_id = :user_id
        ), job AS (
            INSERT INTO jobs ({", ".join(_JOB_COLUMNS)}) VALUES ({job_values})
        ), messages AS (
            {insert_outbox_rows_sql(messages)}
        )
        {position}
    """)


async def begin(conn: AsyncConnection, user_id: uuid.UUID, api_key_id: str | None) -> Admission:
    """Locks the caller's account (making its row if it is new) inside ``conn``'s
    transaction and reads what admission needs from it and from the API key's row."""
    row = await fetch_one(conn, _LOCK_ACCOUNT, {"user_id": user_id, "key_id": _key_uuid(api_key_id)})
    account = AccountState(
        user_id=row.user_id, tier=row.tier, verified=row.verified, credits=row.credits, deleted=row.deleted,
        allowance_day=row.allowance_day, allowance_used=row.allowance_used,
    )
    key = KeyState(tier=row.key_tier, limits=row.key_limits, revoked=bool(row.key_revoked)) if row.key_known else None
    return Admission(conn, user_id, api_key_id, account, key)


_BY_KEY = text("SELECT id FROM jobs WHERE user_id = :user_id AND idempotency_key = :key")


async def job_id_for_key(conn: AsyncConnection, user_id: uuid.UUID, key: str) -> uuid.UUID | None:
    return (await conn.execute(_BY_KEY, {"user_id": user_id, "key": key})).scalar_one_or_none()
