"""Job change notices over Redis pub/sub, one channel per job.

Writers (the consumer, the sweeper, cancel) publish on the job's channel after their
transaction commits; every API process subscribed to that channel (app.adapters.job_changes)
wakes its streams following the job, which re-read it and send a snapshot. A lost notice only
delays an update until the next one (or the keepalive re-read); it never shows a state
that was not committed.

The message is ``changed``, or a JSON object with either or both of:
- ``traceparent``: while tracing is on, the span of the change, which the stream that sends it
  continues;
- ``final``: the job as it ended, from the transaction that ended it. A terminal state never
  changes, so the streams send it as it is, without reading the job again (the last hop of
  finished -> notified). Earlier states are always re-read: notices of one job can arrive out of
  order, and a copy of a running job could be older than what a stream already sent.
- ``preview``: the worker's newest preview of the running job (a small image data URL from
  ``inference.job.progress`` v2), which the streams pass on as it is.
``read_notice`` takes either apart; anything it cannot read is a plain "re-read".

The newest preview of each running job is also kept in Redis (``preview_key``, one value of at
most MAX_PREVIEW_CHARS, expiring after PREVIEW_TTL_S, deleted when the job ends), so a stream
opened in the middle of a job shows it at once. Previews never reach the database.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import redis
from atelier_kit import tracing
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.job_events import NOTIFY_KEY, Change
from app.adapters.jobs_repo import ImageView, JobView
from app.domain.lifecycle import TERMINAL
from app.adapters.ratelimit import REDIS_TIMEOUT_S

log = logging.getLogger("pre_inference.notify")


PLAIN_NOTICE = "changed"
# inference.job.progress v2 bounds a preview at this many characters; anything else is dropped.
MAX_PREVIEW_CHARS = 16_384
PREVIEW_PREFIXES = ("data:image/jpeg;base64,", "data:image/webp;base64,")
# Longer than a job may run (PRE_INFERENCE_JOB_TIME_LIMIT_S, 300 s by default), so only a job
# whose end was never seen leaves its preview behind, and not for long.
PREVIEW_TTL_S = 900


def channel_for(prefix: str, job_id: uuid.UUID | str) -> str:
    return f"{prefix}job:{job_id}"


def preview_key(prefix: str, job_id: uuid.UUID | str) -> str:
    return f"{prefix}preview:{job_id}"


def usable_preview(value: Any) -> str | None:
    """The preview when it is a small image data URL as the contract allows, else None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str) and len(value) <= MAX_PREVIEW_CHARS and value.startswith(PREVIEW_PREFIXES):
        return value
    return None


class Notice(NamedTuple):
    traceparent: str | None
    final: JobView | None
    preview: str | None = None


def notice(traceparent: str | None, final: JobView | None = None, preview: str | None = None) -> str:
    if not traceparent and final is None and preview is None:
        return PLAIN_NOTICE
    body: dict[str, Any] = {}
    if traceparent:
        body["traceparent"] = traceparent
    if final is not None:
        body["final"] = _encode_view(final)
    if preview is not None:
        body["preview"] = preview
    return json.dumps(body, separators=(",", ":"))


def read_notice(data: bytes | str) -> Notice:
    """What a notice carries; nothing for a plain one, or for anything unexpected (a notice's
    first meaning is "re-read", whatever its body)."""
    if data in (PLAIN_NOTICE, PLAIN_NOTICE.encode()) or not data:
        return Notice(None, None)
    try:
        body = json.loads(data)
    except ValueError:
        return Notice(None, None)
    if not isinstance(body, dict):
        return Notice(None, None)
    traceparent = body.get("traceparent")
    return Notice(traceparent if isinstance(traceparent, str) else None, _decode_view(body.get("final")),
                  usable_preview(body.get("preview")))


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _encode_view(view: JobView) -> dict[str, Any]:
    return {
        "id": str(view.id), "status": view.status, "step": view.step, "total_steps": view.total_steps,
        "progress": view.progress, "error_code": view.error_code, "error_message": view.error_message,
        "params": view.params, "created_at": _time(view.created_at), "started_at": _time(view.started_at),
        "finished_at": _time(view.finished_at),
        "images": [[str(i.id), i.key, i.seed, i.width, i.height] for i in view.images],
    }


def _decode_view(raw: Any) -> JobView | None:
    """A terminal job from a notice, or None (then the stream re-reads it)."""
    if not isinstance(raw, dict) or raw.get("status") not in TERMINAL:
        return None
    try:
        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(raw[key]) if raw[key] is not None else None

        return JobView(
            id=uuid.UUID(raw["id"]), status=raw["status"], step=raw["step"], total_steps=raw["total_steps"],
            progress=float(raw["progress"]), error_code=raw["error_code"], error_message=raw["error_message"],
            params=raw["params"], created_at=moment("created_at"), started_at=moment("started_at"),
            finished_at=moment("finished_at"), request_fingerprint=None, queue_position=None,
            images=tuple(ImageView(id=uuid.UUID(i[0]), key=i[1], seed=i[2], width=i[3], height=i[4]) for i in raw["images"]),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        log.warning("ignoring an unreadable final job in a notice: %r", exc)
        return None


class SyncNotifier:
    def __init__(self, url: str, prefix: str):
        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix

    def publish(self, changes: Mapping[uuid.UUID, Change]) -> None:
        """``changes``: job id -> what its notice carries (app.adapters.job_events.Change)."""
        # One round trip for all the jobs a transaction changed (the consumer commits runs of events).
        pipeline = self._client.pipeline(transaction=False)
        for job_id, change in changes.items():
            preview = usable_preview(change.preview)
            if preview is not None:
                pipeline.set(preview_key(self._prefix, job_id), preview, ex=PREVIEW_TTL_S)
            elif change.final is not None:
                pipeline.delete(preview_key(self._prefix, job_id))
            pipeline.publish(channel_for(self._prefix, job_id), notice(change.traceparent, change.final, preview))
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
