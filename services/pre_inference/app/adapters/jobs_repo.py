"""Job and image reads for the API (async); admission is app.adapters.admission."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.adapters.models import Image, Job
from app.domain.lifecycle import QUEUED


@dataclass(frozen=True)
class NewJob:
    id: uuid.UUID
    user_id: uuid.UUID
    api_key_id: str | None
    tier: str
    kind: str
    params: dict[str, Any]
    priority: int
    idempotency_key: str | None
    request_fingerprint: str | None
    deadline_at: datetime
    created_at: datetime
    cost: float = 0.0


async def get_job_for_user(session: AsyncSession, job_id: uuid.UUID, user_id: uuid.UUID) -> Job | None:
    """Ownership is part of the query, so another user's job is indistinguishable from none."""
    statement = select(Job).options(selectinload(Job.images)).where(Job.id == job_id, Job.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_jobs_for_user(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[Job]:
    """Newest first, keyset-paginated on (created_at, id) so pages never skip or repeat
    rows when new jobs arrive between requests."""
    statement = select(Job).options(selectinload(Job.images)).where(Job.user_id == user_id)
    if before is not None:
        created_at, job_id = before
        statement = statement.where(
            or_(Job.created_at < created_at, and_(Job.created_at == created_at, Job.id < job_id))
        )
    statement = statement.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return list((await session.execute(statement)).scalars())



async def queue_position(session: AsyncSession, job: Job) -> int | None:
    """Queued jobs the broker will deliver before this one: higher priority first, then
    older (a partial index on queued jobs keeps this a short index range scan)."""
    if job.status != QUEUED:
        return None
    ahead = or_(Job.priority > job.priority, and_(Job.priority == job.priority, Job.created_at < job.created_at))
    statement = select(func.count()).select_from(Job).where(Job.status == QUEUED, ahead)
    return (await session.execute(statement)).scalar_one()


async def list_images_for_user(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[tuple[Image, Job]]:
    statement = select(Image, Job).join(Job, Image.job_id == Job.id).where(Job.user_id == user_id)
    if before is not None:
        created_at, image_id = before
        statement = statement.where(or_(Image.created_at < created_at, and_(Image.created_at == created_at, Image.id < image_id)))
    statement = statement.order_by(Image.created_at.desc(), Image.id.desc()).limit(limit)
    return [(image, job) for image, job in (await session.execute(statement)).all()]


async def delete_image_for_user(session: AsyncSession, image_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """Deletes the row if it is the user's; returns its storage key (None: not found)."""
    async with session.begin():
        owned = select(Job.id).where(Job.user_id == user_id)
        statement = delete(Image).where(Image.id == image_id, Image.job_id.in_(owned)).returning(Image.key)
        return (await session.execute(statement)).scalar_one_or_none()


async def image_key_for_user(session: AsyncSession, image_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    statement = select(Image.key).join(Job, Image.job_id == Job.id).where(Image.id == image_id, Job.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def starving_priority(session: AsyncSession, below: int, cutoff: datetime) -> int | None:
    """The highest priority under ``below`` that has a job queued since before ``cutoff``
    (an index range scan on the partial queue index); None when nobody is starving."""
    statement = (
        select(Job.priority)
        .where(Job.status == QUEUED, Job.priority < below, Job.created_at < cutoff)
        .order_by(Job.priority.desc())
        .limit(1)
    )
    priority = (await session.execute(statement)).scalar_one_or_none()
    await session.commit()
    return priority
