"""Job and image reads for the API (async); admission is app.adapters.admission.

The job reads every client polls or streams (one job, a page of jobs) are one SQL
statement each, returning what the API shows: the row, its queue position and its images.
They run on an autocommit connection, so a read is one round trip (no BEGIN, no ROLLBACK)
and skips the ORM, whose per-object cost dominated these requests under load.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.adapters import storage_cleanup
from app.adapters.models import Image, Job
from atelier_messaging.topology import DEFAULT_POOL

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
    pool: str = DEFAULT_POOL  # the worker pool whose queue it goes to


@dataclass(frozen=True)
class ImageView:
    id: uuid.UUID
    key: str
    seed: int
    width: int
    height: int


@dataclass(frozen=True)
class JobView:
    """A job as the API shows it."""

    id: uuid.UUID
    status: str
    step: int | None
    total_steps: int | None
    progress: float
    error_code: str | None
    error_message: str | None
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    request_fingerprint: str | None
    queue_position: int | None
    images: tuple[ImageView, ...] = ()


# Queued jobs the broker delivers before a queued job: those of its pool's queue, higher
# priority first, then older (the partial index jobs_queue_order keeps it a short index range scan).
QUEUE_POSITION_SQL = f"""
    SELECT count(*) FROM jobs ahead
    WHERE ahead.status = '{QUEUED}' AND ahead.pool = {{pool}}
      AND (ahead.priority > {{priority}} OR (ahead.priority = {{priority}} AND ahead.created_at < {{created_at}}))
"""

_VIEW_SQL = f"""
    SELECT j.id, j.status, j.step, j.total_steps, j.progress, j.error_code, j.error_message, j.params,
           j.created_at, j.started_at, j.finished_at, j.request_fingerprint,
           CASE WHEN j.status = '{QUEUED}' THEN ({QUEUE_POSITION_SQL.format(pool="j.pool", priority="j.priority", created_at="j.created_at")}) END
               AS queue_position,
           (SELECT json_agg(json_build_object('id', i.id, 'key', i.key, 'seed', i.seed, 'width', i.width, 'height', i.height)
                            ORDER BY i.position)
              FROM images i WHERE i.job_id = j.id) AS images
    FROM jobs j
"""
# Ownership is part of every query, so another user's job is indistinguishable from none.
_ONE = text(_VIEW_SQL + " WHERE j.id = :job_id AND j.user_id = :user_id")
_NEWEST = text(_VIEW_SQL + " WHERE j.user_id = :user_id ORDER BY j.created_at DESC, j.id DESC LIMIT :limit")
_NEWEST_BEFORE = text(
    _VIEW_SQL + " WHERE j.user_id = :user_id AND (j.created_at, j.id) < (:before_at, :before_id)"
    " ORDER BY j.created_at DESC, j.id DESC LIMIT :limit"
)


def _view(row: Any) -> JobView:
    values = dict(row._mapping)
    images = tuple(
        ImageView(id=uuid.UUID(i["id"]), key=i["key"], seed=i["seed"], width=i["width"], height=i["height"])
        for i in values.pop("images") or ()
    )
    return JobView(**values, images=images)


async def get_job_view(conn: AsyncConnection, job_id: uuid.UUID, user_id: uuid.UUID) -> JobView | None:
    row = (await conn.execute(_ONE, {"job_id": job_id, "user_id": user_id})).first()
    return _view(row) if row is not None else None


def get_job_view_sync(conn: Connection, job_id: uuid.UUID, user_id: uuid.UUID) -> JobView | None:
    """The same read for the consumer process (a webhook's payload is the job as GET shows it)."""
    row = conn.execute(_ONE, {"job_id": job_id, "user_id": user_id}).first()
    return _view(row) if row is not None else None


async def list_job_views(
    conn: AsyncConnection, user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[JobView]:
    """Newest first, keyset-paginated on (created_at, id) so pages never skip or repeat
    rows when new jobs arrive between requests."""
    if before is None:
        result = await conn.execute(_NEWEST, {"user_id": user_id, "limit": limit})
    else:
        result = await conn.execute(_NEWEST_BEFORE, {"user_id": user_id, "limit": limit, "before_at": before[0], "before_id": before[1]})
    return [_view(row) for row in result]


def _like_literal(value: str) -> str:
    """`value` as a LIKE pattern that matches itself: % and _ are the user's characters."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_images_for_user(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None,
    prompt_words: tuple[str, ...] = (),
) -> list[tuple[Image, Job]]:
    """The user's images, newest first; with `prompt_words`, only those whose prompt holds every
    word (any case, any order). The words only narrow the scan of this user's rows that the
    unfiltered list already does."""
    statement = select(Image, Job).join(Job, Image.job_id == Job.id).where(Job.user_id == user_id)
    for word in prompt_words:
        statement = statement.where(Job.params["prompt"].astext.ilike(f"%{_like_literal(word)}%", escape="\\"))
    if before is not None:
        created_at, image_id = before
        statement = statement.where(or_(Image.created_at < created_at, and_(Image.created_at == created_at, Image.id < image_id)))
    statement = statement.order_by(Image.created_at.desc(), Image.id.desc()).limit(limit)
    return [(image, job) for image, job in (await session.execute(statement)).all()]


async def delete_image_for_user(session: AsyncSession, image_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """Deletes the row if it is the user's and queues its object for deletion from the store
    in the same transaction; returns its storage key (None: not found)."""
    async with session.begin():
        owned = select(Job.id).where(Job.user_id == user_id)
        statement = delete(Image).where(Image.id == image_id, Image.job_id.in_(owned)).returning(Image.key)
        key = (await session.execute(statement)).scalar_one_or_none()
        if key is not None:
            await storage_cleanup.queue_async(session, [key])
        return key


async def image_key_for_user(session: AsyncSession, image_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    statement = select(Image.key).join(Job, Image.job_id == Job.id).where(Image.id == image_id, Job.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


