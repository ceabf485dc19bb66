"""No job is left pending: fails queued jobs past their deadline (`deadline_exceeded`) and
running jobs past their time limit (`timeout`), returning their reservations and
publishing ``pre_inference.job.finished`` (app.adapters.job_events does both). Each pass
also deletes the stored objects queued for deletion (app.adapters.storage_cleanup).

Runs as a thread of the consumer process (app.consumers), or alone:

    cd services/pre_inference && exec ../../.venv/bin/python -m app.sweeper

Several sweepers may run at once: each job is failed by a conditional UPDATE that
re-checks the status and the time, so a job is failed once and a job that just started
or finished is left alone.
"""
from __future__ import annotations

import logging
import signal
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from app.adapters import job_events, storage_cleanup
from app.adapters.models import Job
from app.config import Settings, get_settings

log = logging.getLogger("pre_inference.sweeper")
BATCH = 200

# (status, time column, reason code, message)
_RULES = (
    ("queued", Job.deadline_at, "deadline_exceeded", "the job was not started before its deadline"),
    ("running", Job.time_limit_at, "timeout", "the job ran past its time limit"),
)


def _overdue(session: Session, status: str, column: Any, now: datetime) -> list[uuid.UUID]:
    statement = select(Job.id).where(Job.status == status, column < now).order_by(column).limit(BATCH)
    return list(session.execute(statement).scalars())


def sweep_once(factory: sessionmaker[Session], now: datetime | None = None) -> dict[str, int]:
    """One pass; returns how many jobs each rule failed."""
    now = now or datetime.now(timezone.utc)
    counts: dict[str, int] = {}
    for status, column, code, message in _RULES:
        with factory() as session:
            candidates = _overdue(session, status, column, now)
        failed = 0
        for job_id in candidates:
            # One transaction per job: one stuck row cannot hold back the others.
            with factory() as session, session.begin():
                if job_events.mark_failed(session, job_id, code, message, now, extra_where=and_(Job.status == status, column < now)):
                    failed += 1
        counts[code] = failed
        if failed:
            log.info("failed %d %s jobs with %s", failed, status, code)
    return counts


class Sweeper:
    def __init__(self, factory: sessionmaker[Session], settings: Settings, storage):
        self.factory = factory
        self.storage = storage
        self.interval_s = settings.pre_inference_sweep_interval_s
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                sweep_once(self.factory)
                storage_cleanup.purge_once(self.factory, self.storage)
            except Exception:  # noqa: BLE001 - a failed pass (DB away) is retried next interval
                log.exception("sweep failed; retrying in %.1fs", self.interval_s)
            self.stopping.wait(self.interval_s)

    def stop(self) -> None:
        self.stopping.set()


def main(settings: Settings | None = None) -> None:
    from atelier_kit.logs import configure_logging
    from atelier_storage import storage_from_env

    from app.adapters.db import make_sync_engine, make_sync_sessionmaker
    from app.adapters.notify import SyncNotifier, publish_after_commit

    configure_logging("pre_inference", "sweeper")
    settings = settings or get_settings()
    engine = make_sync_engine(settings)
    factory = make_sync_sessionmaker(engine)
    notifier = SyncNotifier(settings.atelier_redis_url, settings.atelier_redis_prefix)
    publish_after_commit(factory, notifier)
    sweeper = Sweeper(factory, settings, storage_from_env(directory=settings.atelier_storage_dir))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sweeper.stop())
    try:
        sweeper.run()
    finally:
        notifier.close()
        engine.dispose()


if __name__ == "__main__":
    main()
