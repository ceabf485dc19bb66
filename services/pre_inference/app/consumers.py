"""Consumes ``pre_inference.events``: the inference worker's events move jobs along
(queued -> running -> succeeded | failed); auth's and payments' events feed the account
projection (app.adapters.accounts). The sweeper (app.sweeper) and the webhook deliverer
(app.webhook_deliverer) run in this process too, each in a thread of its own.

    cd services/pre_inference && exec ../../.venv/bin/python -m app.consumers

Each handler runs in the unit of work's transaction together with the inbox row, so a
redelivered message changes nothing; the conditional UPDATEs in app.adapters.job_events
make distinct-but-equivalent messages (a worker retry) and reordering harmless too.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import threading
import uuid
from typing import Any, Callable

from atelier_contracts import Envelope
from atelier_messaging.aio.consumer import AioConsumer
from atelier_messaging.consumer import Consumer, PermanentError, idempotent
from atelier_kit import tracing
from atelier_kit.logs import configure_logging
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork
from atelier_storage import storage_from_env
from sqlalchemy.orm import Session, sessionmaker

from app.adapters import accounts, catalogue, job_events, webhooks_repo
from app.adapters.db import make_sync_engine, make_sync_sessionmaker
from app.adapters.notify import SyncNotifier, publish_after_commit
from app.config import Settings, get_settings
from app.consumer_metrics import count_finished_after_commit
from app.domain.events import parse_time
from app.domain.lifecycle import progress_fraction
from app.sweeper import Sweeper
from app.webhook_deliverer import WebhookDeliverer

QUEUE = "pre_inference.events"
log = logging.getLogger("pre_inference.consumers")


def _uuid(envelope: Envelope, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(envelope.data[field])
    except (KeyError, ValueError, TypeError) as exc:
        raise PermanentError(f"{envelope.routing_key} without a valid {field}") from exc


def _job_id(envelope: Envelope) -> uuid.UUID:
    return _uuid(envelope, "job_id")


def _log_outcome(envelope: Envelope, job_id: uuid.UUID, applied: bool) -> None:
    # Not applied is normal (duplicate, late or reordered event, or a job we do not
    # know); it is logged, never retried, because retrying cannot change the answer.
    log.info(
        "%s %s", envelope.routing_key, "applied" if applied else "changed nothing",
        extra={"job_id": str(job_id), "message_id": envelope.id, "correlation_id": envelope.correlation_id},
    )


def on_started(envelope: Envelope, tx: Session) -> None:
    job_id = _job_id(envelope)
    started_at = parse_time(envelope.data["started_at"])
    applied = job_events.mark_started(tx, job_id, started_at, get_settings().pre_inference_job_time_limit_s)
    _log_outcome(envelope, job_id, applied)


def on_progress(envelope: Envelope, tx: Session) -> None:
    """v1 and v2 (v2 may add a preview, which only the job's streams see)."""
    job_id = _job_id(envelope)
    data = envelope.data
    # A worker loading its model reports step 0 (phase "loading"): shown as warming up.
    step = 0 if data.get("phase") == "loading" else data["step"]
    fraction = progress_fraction(step, data["total_steps"])
    applied = job_events.record_progress(tx, job_id, step, data["total_steps"], fraction, preview=data.get("preview"))
    log.debug("progress %.2f for %s: %s", fraction, job_id, applied)


def on_succeeded(envelope: Envelope, tx: Session) -> None:
    job_id = _job_id(envelope)
    applied = job_events.mark_succeeded(tx, job_id, envelope.data["images"], parse_time(envelope.data["finished_at"]))
    _log_outcome(envelope, job_id, applied)


def on_failed(envelope: Envelope, tx: Session) -> None:
    job_id = _job_id(envelope)
    data = envelope.data
    applied = job_events.mark_failed(tx, job_id, data["reason_code"], data["message"], parse_time(data["finished_at"]))
    _log_outcome(envelope, job_id, applied)


def on_user_registered(envelope: Envelope, tx: Session) -> None:
    user_id = _uuid(envelope, "user_id")
    data = envelope.data
    accounts.set_tier(tx, user_id, data["tier"], parse_time(data["registered_at"]))
    accounts.set_verified(tx, user_id, bool(data["verified"]))


def on_user_verified(envelope: Envelope, tx: Session) -> None:
    accounts.set_verified(tx, _uuid(envelope, "user_id"), True)


def on_tier_changed(envelope: Envelope, tx: Session) -> None:
    data = envelope.data
    applied = accounts.set_tier(tx, _uuid(envelope, "user_id"), data["tier"], parse_time(data["changed_at"]))
    log.info("tier of %s -> %s: %s", data["user_id"], data["tier"], "applied" if applied else "older than what we have")


def on_user_deleted(envelope: Envelope, tx: Session) -> None:
    webhooks_repo.delete_for_user(tx, _uuid(envelope, "user_id"))
    removed = accounts.mark_deleted(tx, _uuid(envelope, "user_id"))
    log.info("user %s deleted; %d jobs forgotten", envelope.data["user_id"], removed)


def on_api_key_created(envelope: Envelope, tx: Session) -> None:
    # `tier` is the owner's tier when the key was made: kept for reference only; admission
    # uses the owner's current tier (app.api.access). `limits` are staff's and do apply.
    data = envelope.data
    accounts.upsert_api_key(tx, _uuid(envelope, "key_id"), _uuid(envelope, "user_id"), data["tier"], data.get("limits"), list(data["scopes"]))


def on_api_key_revoked(envelope: Envelope, tx: Session) -> None:
    accounts.revoke_api_key(tx, _uuid(envelope, "key_id"), _uuid(envelope, "user_id"), parse_time(envelope.data["revoked_at"]))


def on_credits_granted(envelope: Envelope, tx: Session) -> None:
    accounts.apply_credits(tx, _uuid(envelope, "grant_id"), _uuid(envelope, "user_id"), int(envelope.data["credits"]))


def on_refund_issued(envelope: Envelope, tx: Session) -> None:
    revoked = int(envelope.data["credits_revoked"])
    if revoked:
        accounts.apply_credits(tx, _uuid(envelope, "refund_id"), _uuid(envelope, "user_id"), -revoked)


@idempotent
def on_worker_heartbeat(envelope: Envelope, tx: Session) -> None:
    """The model catalogue (app.adapters.catalogue): what this worker serves now. A heartbeat not
    newer than the worker's last changes nothing, so heartbeats (one per worker every 10 s) skip
    the inbox instead of adding a row each."""
    applied = catalogue.record_heartbeat(tx, envelope.data, parse_time(envelope.data["sent_at"]))
    log.debug("heartbeat of %s: %s", envelope.data["worker"], "applied" if applied else "not newer than what we have")


HANDLERS: dict[str, Callable[[Envelope, Any], None]] = {
    "auth.user.registered.v1": on_user_registered,
    "auth.user.verified.v1": on_user_verified,
    "auth.user.tier_changed.v1": on_tier_changed,
    "auth.user.deleted.v1": on_user_deleted,
    "auth.api_key.created.v1": on_api_key_created,
    "auth.api_key.revoked.v1": on_api_key_revoked,
    "payments.credits.granted.v1": on_credits_granted,
    "payments.refund.issued.v1": on_refund_issued,
    "inference.job.started.v1": on_started,
    "inference.job.progress.v1": on_progress,
    "inference.job.progress.v2": on_progress,
    "inference.job.succeeded.v1": on_succeeded,
    "inference.job.failed.v1": on_failed,
    "inference.worker.heartbeat.v1": on_worker_heartbeat,
    "inference.worker.heartbeat.v2": on_worker_heartbeat,  # v1 and the workers' LoRAs
    "inference.worker.heartbeat.v3": on_worker_heartbeat,  # v2 and the worker's pool
}


def build_consumer(session_factory: sessionmaker[Session]) -> Consumer:
    return Consumer(queue=QUEUE, handlers=HANDLERS, unit_of_work=SqlAlchemyUnitOfWork(session_factory), name=QUEUE)


def build_aio_consumer(session_factory: sessionmaker[Session]) -> AioConsumer:
    """The same consumer over aio-pika (what ``main`` runs); handlers run in worker threads."""
    return AioConsumer(queue=QUEUE, handlers=HANDLERS, unit_of_work=SqlAlchemyUnitOfWork(session_factory), name=QUEUE)


async def _consume_until_signalled(consumer: AioConsumer, sweeper: Sweeper, deliverer: WebhookDeliverer, amqp_url: str) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # On the loop, so that stop() wakes the consumer at once.
        loop.add_signal_handler(signum, lambda: (consumer.stop(), sweeper.stop(), deliverer.stop()))
    await consumer.run(amqp_url)


def main(settings: Settings | None = None) -> None:
    configure_logging("pre_inference", "consumer")
    tracing.setup_tracing("pre_inference", "consumer")
    settings = settings or get_settings()
    engine = make_sync_engine(settings)
    factory = make_sync_sessionmaker(engine)
    notifier = SyncNotifier(settings.atelier_redis_url, settings.atelier_redis_prefix)
    publish_after_commit(factory, notifier)
    count_finished_after_commit(factory)
    consumer = build_aio_consumer(factory)
    sweeper = Sweeper(factory, settings, storage_from_env(directory=settings.atelier_storage_dir))
    thread = threading.Thread(target=sweeper.run, name="sweeper", daemon=True)
    thread.start()
    # Its own pool: its sends hold a connection only to record an outcome, and must never
    # make the consumer wait for one.
    webhook_engine = make_sync_engine(settings, pool_size=settings.pre_inference_webhook_concurrency + 1)
    deliverer = WebhookDeliverer(make_sync_sessionmaker(webhook_engine), settings)
    webhook_thread = threading.Thread(target=deliverer.run, name="webhooks", daemon=True)
    webhook_thread.start()
    try:
        asyncio.run(_consume_until_signalled(consumer, sweeper, deliverer, settings.atelier_amqp_url))
    finally:
        sweeper.stop()
        deliverer.stop()
        thread.join(timeout=10)
        webhook_thread.join(timeout=30)
        notifier.close()
        engine.dispose()
        webhook_engine.dispose()
        tracing.shutdown_tracing()  # flush the last spans


if __name__ == "__main__":
    main()
