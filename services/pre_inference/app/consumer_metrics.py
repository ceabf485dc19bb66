"""Metrics of the consumer process (served on its ATELIER_METRICS_PORT): jobs that reached
a terminal state, counted after the commit that put them there, whoever in this process
finished them (the worker's events, or the sweeper's deadlines and time limits)."""
from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.job_events import FINISHED_KEY

JOBS_FINISHED = Counter(
    "pre_inference_jobs_finished_total",
    "Jobs that reached a terminal state, by status and reason code (reason '' when succeeded)",
    ["status", "reason"],
)


def count_finished_after_commit(factory: sessionmaker[Session]) -> None:
    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        for status, reason in session.info.pop(FINISHED_KEY, ()):
            JOBS_FINISHED.labels(status, reason).inc()

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(FINISHED_KEY, None)
