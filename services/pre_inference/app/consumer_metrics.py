"""Metrics of the consumer process (served on its ATELIER_METRICS_PORT): jobs that reached
a terminal state, counted after the commit that put them there, whoever in this process
finished them (the worker's events, or the sweeper's deadlines and time limits); and the
webhook deliverer's attempts (a thread of this process), counted once their outcome is recorded."""
from __future__ import annotations

from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.job_events import FINISHED_KEY

JOBS_FINISHED = Counter(
    "pre_inference_jobs_finished_total",
    "Jobs that reached a terminal state, by status and reason code (reason '' when succeeded)",
    ["status", "reason"],
)

# delivered: a 2xx; retrying: not delivered, another attempt is scheduled; failed: not delivered
# and given up (last attempt, or nothing to send); disabled: the receiver answered 410 Gone.
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed", "disabled")
WEBHOOK_ATTEMPTS = Counter(
    "pre_inference_webhook_attempts_total",
    "Webhook delivery attempts by outcome: delivered, retrying, failed (given up), disabled (410 Gone)",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "pre_inference_webhook_attempt_duration_seconds",
    "One delivery attempt, from connecting to the receiver's answer (or the deadline)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0),
)
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_ATTEMPTS.labels(_outcome)  # every outcome shows from the start, at 0


def count_webhook_attempt(outcome: str, duration_ms: float | None) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()
    if duration_ms:  # 0: nothing was sent (the job or the secret was gone)
        WEBHOOK_ATTEMPT_SECONDS.observe(duration_ms / 1000)


def count_finished_after_commit(factory: sessionmaker[Session]) -> None:
    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        for status, reason in session.info.pop(FINISHED_KEY, ()):
            JOBS_FINISHED.labels(status, reason).inc()

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(FINISHED_KEY, None)
