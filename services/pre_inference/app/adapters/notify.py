"""Job change notices over Redis pub/sub, one channel per job.

Writers (the consumer, the sweeper, cancel) publish the job id after their transaction
commits; every API process subscribed to that channel (app.adapters.job_changes) wakes
its streams following the job, which re-read it and send a snapshot. A lost notice only
delays an update until the next one (or the keepalive re-read); it never shows a state
that was not committed.

The message is ``changed``, or, while tracing is on, ``{"traceparent": "00-..."}``: the span
of the change, which the stream that sends it continues (``notice_traceparent``).
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping

import redis
from atelier_kit import tracing
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.job_events import NOTIFY_KEY
from app.adapters.ratelimit import REDIS_TIMEOUT_S

log = logging.getLogger("pre_inference.notify")


PLAIN_NOTICE = "changed"


def channel_for(prefix: str, job_id: uuid.UUID | str) -> str:
    return f"{prefix}job:{job_id}"


def notice(traceparent: str | None) -> str:
    return json.dumps({"traceparent": traceparent}) if traceparent else PLAIN_NOTICE


def notice_traceparent(data: bytes | str) -> str | None:
    """The traceparent a notice carries; None for a plain one (or anything unexpected: a
    notice's only meaning is "re-read", whatever its body)."""
    if data in (PLAIN_NOTICE, PLAIN_NOTICE.encode()) or not data:
        return None
    try:
        value = json.loads(data).get("traceparent")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


class SyncNotifier:
    def __init__(self, url: str, prefix: str):
        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix

    def publish(self, changes: Mapping[uuid.UUID, str | None]) -> None:
        """``changes``: job id -> the traceparent of the change (None while tracing is off)."""
        # One round trip for all the jobs a transaction changed (the consumer commits runs of events).
        pipeline = self._client.pipeline(transaction=False)
        for job_id, traceparent in changes.items():
            pipeline.publish(channel_for(self._prefix, job_id), notice(traceparent))
        try:
            pipeline.execute()
        except redis.RedisError as exc:
            # Best effort by design: the state is committed; streams catch up on their next read.
            log.warning("could not publish a change of %d jobs: %r", len(changes), exc)

    def close(self) -> None:
        self._client.close()


def publish_after_commit(factory: sessionmaker[Session], notifier: SyncNotifier) -> None:
    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        changes = session.info.pop(NOTIFY_KEY, None)
        if changes:
            notifier.publish(changes)

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(NOTIFY_KEY, None)


class AsyncNotifier:
    """The API's side: publishes after its own commits (cancel). Streams listen through
    app.adapters.job_changes."""

    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix

    async def publish(self, job_id: uuid.UUID) -> None:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S):
                await self.client.publish(channel_for(self.prefix, job_id), notice(tracing.current_traceparent()))
        except (redis.RedisError, TimeoutError) as exc:
            log.warning("could not publish a change of job %s: %r", job_id, exc)
