"""Moves jobs through their lifecycle (sync; the consumer, the sweeper and cancel use it).

Every change is one conditional UPDATE whose WHERE clause carries the precondition from
app.domain.lifecycle, so redelivered, duplicated or reordered events are harmless: the
database decides atomically, nothing is read first and written back. The transition that
wins a terminal state also settles the job's reservation and writes
``pre_inference.job.finished`` to the outbox, in the same transaction, exactly once.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from atelier_kit import tracing
from atelier_messaging.sqlalchemy import add_to_outbox
from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.adapters import webhooks_repo
from app.adapters.jobs_repo import ImageView, JobView
from app.adapters.models import Account, Image, Job
from app.domain import events, webhooks
from app.domain.lifecycle import ALLOWED_FROM, CANCELED, FAILED, PROGRESS_WHILE, RUNNING, SUCCEEDED

NOTIFY_KEY = "notify_jobs"
# (status, reason) of each job this transaction finished; app.consumer_metrics counts them
# once the commit is done, so a rolled-back transition is never counted.
FINISHED_KEY = "finished_jobs"
# The table, not the mapped class: these UPDATEs go through Core, skipping the ORM's bulk
# update machinery (session synchronisation, entity RETURNING), which cost more than the
# statements themselves on every event the consumer applies.
JOBS = Job.__table__
ACCOUNTS = Account.__table__


class Change(NamedTuple):
    """What a change notice carries besides the job id (app.adapters.notify)."""

    traceparent: str | None  # the span that made the change, while tracing is on
    final: JobView | None  # the job as it ended, when the change ended it
    # The worker's newest preview of a running job (a small image data URL, inference.job.progress
    # v2): passed on to the job's streams, never stored in the database.
    preview: str | None = None


def notify_after_commit(session: Session, job_id: uuid.UUID, final: JobView | None = None, preview: str | None = None) -> None:
    """Queues a change notice; app.adapters.notify publishes it once the commit is done. The
    notice carries the span that made the change (the consumer's, per event: one transaction
    may apply events of many traces), so the stream that sends it continues that trace; and,
    for the change that ended the job, the job itself, so its streams send the end without
    reading it again (a terminal state never changes, so that copy cannot be stale). A preview
    survives a later change of the same transaction that brings none, unless that change ends the job."""
    changes = session.info.setdefault(NOTIFY_KEY, {})
    if preview is None and final is None and job_id in changes:
        preview = changes[job_id].preview
    changes[job_id] = Change(tracing.current_traceparent(), final, None if final is not None else preview)


def _final_view(job: Any, images: tuple[ImageView, ...] = ()) -> JobView:
    """The job as the API shows it, from the row the ending UPDATE returned."""
    return JobView(
        id=job.id, status=job.status, step=job.step, total_steps=job.total_steps, progress=job.progress,
        error_code=job.error_code, error_message=job.error_message, params=job.params, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at, request_fingerprint=None, queue_position=None,
        images=images,
    )


def mark_started(session: Session, job_id: uuid.UUID, started_at: datetime, time_limit_s: int) -> bool:
    result = session.execute(
        update(JOBS)
        .where(Job.id == job_id, Job.status.in_(ALLOWED_FROM[RUNNING]))
        .values(
            status=RUNNING, started_at=func.coalesce(Job.started_at, started_at),
            time_limit_at=started_at + timedelta(seconds=time_limit_s), updated_at=func.now(),
        )
    )
    if result.rowcount == 1:
        notify_after_commit(session, job_id)
    return result.rowcount == 1


def record_progress(
    session: Session, job_id: uuid.UUID, step: int, total_steps: int, fraction: float, preview: str | None = None,
) -> bool:
    """Never moves backwards; step 0 (the worker is loading the model) is recorded too. The
    preview goes only to the job's streams, with the notice, and only with a step that moved on."""
    result = session.execute(
        update(JOBS)
        .where(Job.id == job_id, Job.status.in_(PROGRESS_WHILE), or_(Job.step.is_(None), Job.step < step, and_(Job.step == step, Job.total_steps.is_(None))))
        .values(step=step, total_steps=total_steps, progress=func.greatest(Job.progress, fraction), updated_at=func.now())
    )
    if result.rowcount == 1:
        notify_after_commit(session, job_id, preview=preview)
    return result.rowcount == 1


def _finish(
    session: Session, job_id: uuid.UUID, status: str, values: dict[str, Any], finished_at: datetime, *,
    extra_where: Any = None, images: int = 0,
) -> Any:
    statement = (
        update(JOBS)
        .where(Job.id == job_id, Job.status.in_(ALLOWED_FROM[status]))
        .values(status=status, finished_at=finished_at, updated_at=func.now(), **values)
        .returning(*JOBS.c)
    )
    if extra_where is not None:
        statement = statement.where(extra_where)
    job = session.execute(statement).one_or_none()
    if job is None:
        return None
    succeeded = status == SUCCEEDED
    if not succeeded:
        _return_reservation(session, job)
    gpu_ms = max(0.0, (finished_at - job.started_at).total_seconds() * 1000) if job.started_at else 0.0
    add_to_outbox(
        session,
        events.job_finished(
            job_id=job.id, user_id=job.user_id, api_key_id=job.api_key_id, status=status,
            images=images, cost=job.cost,
            charged_allowance=job.reserved_allowance if succeeded else 0,
            charged_credits=job.reserved_credits if succeeded else 0, gpu_ms=round(gpu_ms, 3), finished_at=finished_at,
        ),
    )
    # The owner's webhook endpoints hear of the end: queued in this transaction, sent later.
    webhooks_repo.enqueue_job_end(session, job_id=job.id, user_id=job.user_id, event_type=webhooks.EVENT_TYPES[status])
    notify_after_commit(session, job_id, final=_final_view(job))
    session.info.setdefault(FINISHED_KEY, []).append((status, "" if succeeded else values.get("error_code") or ""))
    return job


def _return_reservation(session: Session, job: Job) -> None:
    """Credits always come back; allowance only while it is still the same day (after
    midnight the counter was reset, and giving back would grant extra images)."""
    if job.reserved_credits:
        session.execute(update(ACCOUNTS).where(Account.user_id == job.user_id).values(credits=Account.credits + job.reserved_credits))
    if job.reserved_allowance and job.reservation_day is not None:
        session.execute(
            update(ACCOUNTS)
            .where(Account.user_id == job.user_id, Account.allowance_day == job.reservation_day)
            .values(allowance_used=func.greatest(0, Account.allowance_used - job.reserved_allowance))
        )


def mark_succeeded(session: Session, job_id: uuid.UUID, images: list[dict[str, Any]], finished_at: datetime) -> bool:
    """Images are written only by the event that wins the transition, so a second
    ``succeeded`` (a worker retried after a crash) cannot add a second set."""
    job = _finish(session, job_id, SUCCEEDED, {"progress": 1.0, "error_code": None, "error_message": None}, finished_at, images=len(images))
    if job is None:
        return False
    rows = [
        {
            # Made here rather than by the database, so the notice below can name them.
            "id": uuid.uuid4(), "job_id": job_id, "position": position, "key": image["key"], "seed": image["seed"],
            "width": image["width"], "height": image["height"], "content_type": image["content_type"],
        }
        for position, image in enumerate(images)
    ]
    if rows:
        # New rows only: this transaction won the job's end, so no image of it exists yet.
        session.execute(insert(Image).values(rows).on_conflict_do_nothing(constraint="images_job_key"))
    views = tuple(ImageView(id=r["id"], key=r["key"], seed=r["seed"], width=r["width"], height=r["height"]) for r in rows)
    notify_after_commit(session, job_id, final=_final_view(job, views))
    return True


def mark_failed(session: Session, job_id: uuid.UUID, code: str, message: str, finished_at: datetime, *, extra_where: Any = None) -> bool:
    values = {"error_code": code, "error_message": message}
    return _finish(session, job_id, FAILED, values, finished_at, extra_where=extra_where) is not None


def cancel(session: Session, job_id: uuid.UUID, user_id: uuid.UUID, canceled_at: datetime) -> Any:
    """Queued or running -> canceled. A running job's worker is told to stop through
    ``pre_inference.job.canceled``; whatever it reports afterwards changes nothing."""
    job = _finish(
        session, job_id, CANCELED, {"error_code": "canceled", "error_message": "canceled by the user"}, canceled_at,
        extra_where=Job.user_id == user_id,
    )
    if job is not None:
        add_to_outbox(session, events.job_canceled(job_id=job.id, user_id=job.user_id, canceled_at=canceled_at))
    return job
