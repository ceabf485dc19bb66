"""Admission in one transaction: the caller's account row is locked (SELECT ... FOR
UPDATE), so all submits of one user are serialised there; under that lock the
concurrency count, the daily allowance and the credits are read and the reservation is
written together with the job and its outbox messages. Nothing is checked in one
transaction and acted on in another.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from atelier_contracts import Envelope
from atelier_messaging.sqlalchemy import add_to_outbox_async
from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.adapters.jobs_repo import NewJob
from app.adapters.models import Account, ApiKey, Job
from app.domain.lifecycle import QUEUED, RUNNING
from app.domain.policy import TierLimits

ACTIVE = (QUEUED, RUNNING)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Projection:
    account: Account | None
    api_key: ApiKey | None


async def read_projection(session: AsyncSession, user_id: uuid.UUID, key_id: str | None) -> Projection:
    account = (await session.execute(select(Account).where(Account.user_id == user_id))).scalar_one_or_none()
    api_key = None
    if key_id:
        try:
            api_key = (await session.execute(select(ApiKey).where(ApiKey.key_id == uuid.UUID(key_id)))).scalar_one_or_none()
        except ValueError:
            api_key = None
    # Ends the read-only transaction (commit: unlike rollback it does not expire what was read).
    await session.commit()
    return Projection(account, api_key)


def seconds_to_midnight(now: datetime) -> int:
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=timezone.utc)
    return max(1, int((tomorrow - now).total_seconds()))


async def count_active(session: AsyncSession, user_id: uuid.UUID, key_id: str | None) -> int:
    """Live jobs the caller's cap counts: the key's own when called with a key, else the user's."""
    condition = and_(Job.user_id == user_id, Job.status.in_(ACTIVE))
    if key_id:
        condition = and_(condition, Job.api_key_id == key_id)
    return (await session.execute(select(func.count()).select_from(Job).where(condition))).scalar_one()


def split_charge(account: Account, images: int, images_per_day: int, today: date) -> tuple[int, int]:
    """Allowance first, then purchased credits; (from_allowance, from_credits)."""
    used = account.allowance_used if account.allowance_day == today else 0
    from_allowance = min(images, max(0, images_per_day - used))
    return from_allowance, images - from_allowance


async def admit(session: AsyncSession, new_job: NewJob, envelopes: list[Envelope], limits: TierLimits, *, now: datetime) -> tuple[Job, bool]:
    """Returns (job, created); an Idempotency-Key retry returns the first job, created=False.
    ``envelopes``: inference.job.requested first, then this service's own events."""
    today = now.astimezone(timezone.utc).date()
    images = int(new_job.params["n"])
    async with session.begin():
        await session.execute(insert(Account).values(user_id=new_job.user_id).on_conflict_do_nothing(index_elements=["user_id"]))
        account = (
            await session.execute(select(Account).where(Account.user_id == new_job.user_id).with_for_update().execution_options(populate_existing=True))
        ).scalar_one()
        if new_job.idempotency_key is not None:
            existing = await _find_by_key(session, new_job.user_id, new_job.idempotency_key)
            if existing is not None:
                return existing, False
        if account.deleted:
            raise Refused(403, "account_deleted", "this account was deleted")
        active = await count_active(session, new_job.user_id, new_job.api_key_id)
        if active >= limits.concurrency:
            raise Refused(429, "concurrency_limit", f"you have {active} jobs queued or running; your limit is {limits.concurrency}", retry_after_s=5)
        from_allowance, from_credits = split_charge(account, images, limits.images_per_day, today)
        if from_credits > account.credits:
            raise Refused(
                429, "quota_exceeded",
                f"your daily allowance of {limits.images_per_day} images is used up and you have {account.credits} credits",
                retry_after_s=seconds_to_midnight(now),
            )
        used = account.allowance_used if account.allowance_day == today else 0
        account.allowance_day = today
        account.allowance_used = used + from_allowance
        account.credits = account.credits - from_credits
        values = {
            **new_job.__dict__, "status": QUEUED, "progress": 0.0, "updated_at": new_job.created_at,
            "reserved_allowance": from_allowance, "reserved_credits": from_credits, "reservation_day": today,
        }
        statement = insert(Job).values(**values)
        if new_job.idempotency_key is not None:
            statement = statement.on_conflict_do_nothing(constraint="jobs_user_idempotency_key")
        inserted = (await session.execute(statement.returning(Job.id))).scalar_one_or_none()
        if inserted is None:  # cannot happen under the lock; kept as the constraint's safety net
            raise Refused(409, "conflict", "a concurrent request with this Idempotency-Key won; retry it")
        requested, *others = envelopes
        await add_to_outbox_async(session, requested, priority=new_job.priority)
        for envelope in others:
            await add_to_outbox_async(session, envelope)
        job = (await session.execute(select(Job).options(selectinload(Job.images)).where(Job.id == inserted))).scalar_one()
    return job, True


async def _find_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> Job | None:
    statement = select(Job).options(selectinload(Job.images)).where(Job.user_id == user_id, Job.idempotency_key == key)
    return (await session.execute(statement)).scalar_one_or_none()


async def find_by_key(session: AsyncSession, user_id: uuid.UUID, key: str) -> Job | None:
    job = await _find_by_key(session, user_id, key)
    await session.commit()
    return job
