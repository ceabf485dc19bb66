"""Reads and removals for staff: any user's jobs and images, with their owner. The user's
own routes (jobs_repo) put ownership into every query; these deliberately do not, and only
the staff routes (app.api.routes.staff) call them."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.adapters import storage_cleanup
from app.adapters.jobs_repo import ImageView
from app.adapters.models import Image


@dataclass(frozen=True)
class StaffJobView:
    id: uuid.UUID
    user_id: uuid.UUID
    api_key_id: str | None
    tier: str
    kind: str
    status: str
    params: dict[str, Any]
    error_code: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None
    images: tuple[ImageView, ...]


@dataclass(frozen=True)
class RemovedImage:
    key: str
    job_id: uuid.UUID
    owner_id: uuid.UUID


_SELECT = """
    SELECT j.id, j.user_id, j.api_key_id, j.tier, j.kind, j.status, j.params, j.error_code, j.error_message,
           j.created_at, j.finished_at,
           (SELECT json_agg(json_build_object('id', i.id, 'key', i.key, 'seed', i.seed, 'width', i.width, 'height', i.height)
                            ORDER BY i.position)
              FROM images i WHERE i.job_id = j.id) AS images
    FROM jobs j
"""
_OF_USER = text(_SELECT + " WHERE j.user_id = :user_id ORDER BY j.created_at DESC, j.id DESC LIMIT :limit")
_OF_USER_BEFORE = text(
    _SELECT + " WHERE j.user_id = :user_id AND (j.created_at, j.id) < (:before_at, :before_id)"
    " ORDER BY j.created_at DESC, j.id DESC LIMIT :limit")
_BY_JOB = text(_SELECT + " WHERE j.id = :job_id")
_BY_IMAGE = text(_SELECT + " WHERE j.id = (SELECT job_id FROM images WHERE id = :image_id)")


def _view(row: Any) -> StaffJobView:
    values = dict(row._mapping)
    images = tuple(
        ImageView(id=uuid.UUID(i["id"]), key=i["key"], seed=i["seed"], width=i["width"], height=i["height"])
        for i in values.pop("images") or ()
    )
    return StaffJobView(**values, images=images)


async def jobs_of_user(conn: AsyncConnection, user_id: uuid.UUID, *, limit: int,
                       before: tuple[datetime, uuid.UUID] | None) -> list[StaffJobView]:
    """Newest first, keyset-paginated like the user's own list (jobs_user_newest index)."""
    if before is None:
        result = await conn.execute(_OF_USER, {"user_id": user_id, "limit": limit})
    else:
        result = await conn.execute(_OF_USER_BEFORE, {"user_id": user_id, "limit": limit,
                                                      "before_at": before[0], "before_id": before[1]})
    return [_view(row) for row in result]


async def job_by_id(conn: AsyncConnection, job_id: uuid.UUID) -> StaffJobView | None:
    row = (await conn.execute(_BY_JOB, {"job_id": job_id})).first()
    return _view(row) if row is not None else None


async def job_of_image(conn: AsyncConnection, image_id: uuid.UUID) -> StaffJobView | None:
    row = (await conn.execute(_BY_IMAGE, {"image_id": image_id})).first()
    return _view(row) if row is not None else None


async def remove_image(session: AsyncSession, image_id: uuid.UUID) -> RemovedImage | None:
    """Deletes any user's image row, queueing its object for deletion from the store in the same
    transaction (app.adapters.storage_cleanup); what it was (None: no such image)."""
    async with session.begin():
        statement = delete(Image).where(Image.id == image_id).returning(Image.key, Image.job_id)
        removed = (await session.execute(statement)).first()
        if removed is None:
            return None
        await storage_cleanup.queue_async(session, [removed.key])
        owner = (await session.execute(text("SELECT user_id FROM jobs WHERE id = :id"), {"id": removed.job_id})).scalar_one()
    return RemovedImage(key=removed.key, job_id=removed.job_id, owner_id=owner)
