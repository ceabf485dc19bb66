"""Objects leave the store after their rows, never before, and never get forgotten.

A deletion queues the object's key in the transaction that removes its row; the sweeper
(app.sweeper) deletes queued objects and then their entries. Store deletes are idempotent,
so an object deleted twice (a retry after a crash, two sweepers) is harmless, and an entry
whose delete failed stays queued with its error and is tried again on the next pass.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("pre_inference.storage_cleanup")
BATCH = 100

_QUEUE = text("INSERT INTO storage_deletions (key) SELECT unnest(CAST(:keys AS text[])) ON CONFLICT (key) DO NOTHING")

# Every object a user's jobs hold: their images, and the img2img/inpaint inputs they uploaded.
_QUEUE_USER = text("""
    INSERT INTO storage_deletions (key)
    SELECT images.key FROM images JOIN jobs ON jobs.id = images.job_id WHERE jobs.user_id = :user_id
    UNION
    SELECT jobs.params ->> input FROM jobs, unnest(ARRAY['init_image_key', 'mask_key']) AS input
    WHERE jobs.user_id = :user_id AND jobs.params ->> input IS NOT NULL
    ON CONFLICT (key) DO NOTHING
""")

_CLAIM = text("SELECT key FROM storage_deletions ORDER BY requested_at LIMIT :limit FOR UPDATE SKIP LOCKED")
_DONE = text("DELETE FROM storage_deletions WHERE key = :key")
_FAILED = text("UPDATE storage_deletions SET attempts = attempts + 1, last_error = :error WHERE key = :key")


async def queue_async(session: AsyncSession, keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        await session.execute(_QUEUE, {"keys": keys})


async def delete_now(session: AsyncSession, storage, key: str) -> None:
    """Deletes a queued object at once (a user is waiting for the delete) and its entry; where
    the store does not answer, the entry stays for the sweeper rather than failing the request."""
    try:
        await run_in_threadpool(storage.delete, key)
    except OSError as exc:
        log.warning("could not delete %s from storage yet; the sweeper will: %r", key, exc)
        return
    async with session.begin():
        await session.execute(_DONE, {"key": key})


def queue_user(session: Session, user_id: uuid.UUID) -> int:
    """Queues every object of the user's jobs; call before the jobs' rows are deleted."""
    return session.execute(_QUEUE_USER, {"user_id": user_id}).rowcount


def purge_once(factory: sessionmaker[Session], storage) -> tuple[int, int]:
    """Deletes one batch of queued objects; (deleted, failed). Each entry is claimed with
    SKIP LOCKED, so several sweepers share the queue without waiting on each other."""
    deleted = failed = 0
    with factory() as session, session.begin():
        keys = list(session.execute(_CLAIM, {"limit": BATCH}).scalars())
        for key in keys:
            try:
                storage.delete(key)
            except Exception as exc:  # noqa: BLE001 - the store's outage or a bad key: recorded, retried next pass
                session.execute(_FAILED, {"key": key, "error": repr(exc)[:500]})
                failed += 1
                continue
            session.execute(_DONE, {"key": key})
            deleted += 1
    if deleted or failed:
        log.info("storage cleanup: %d objects deleted, %d failed (kept for the next pass)", deleted, failed)
    return deleted, failed
