"""Sends queued webhook deliveries (app.adapters.webhooks_repo), signed, with retries.

A thread of the consumer process (app.consumers), beside the sweeper but not inside it:
a receiver may take its whole read timeout to answer, and a sweep (jobs past their deadline,
storage deletions) must not wait behind it. It needs nothing the API process has, and every
consumer process runs one, so adding consumers adds deliverers; they share the queue through
``FOR UPDATE SKIP LOCKED``. Also runnable alone: ``python -m app.webhook_deliverer``.

Each pass claims up to ``PRE_INFERENCE_WEBHOOK_CONCURRENCY`` due deliveries and sends them at
once (a thread each); 2xx is delivered; 410 Gone disables the endpoint; anything else
(another status, no answer, a refused address) is retried on app.domain.webhooks' schedule
until the attempt limit, then the delivery is failed. Each attempt's outcome and time are
counted (app.consumer_metrics) once recorded. A crash after the receiver answered
and before the outcome was recorded sends the delivery again, with the same id, when its
lease ends: receivers deduplicate by ``id`` (README, "Webhooks").
"""
from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.adapters import jobs_repo, webhook_sender, webhooks_repo
from app.adapters.webhook_secrets import SecretUnreadable, secret_box
from app.adapters.storage import ImageUrlSigner
from app.api.job_representation import job_out
from app.config import Settings, get_settings
from app.consumer_metrics import count_webhook_attempt
from app.domain import webhooks

log = logging.getLogger("pre_inference.webhooks")


class WebhookDeliverer:
    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        self.factory = factory
        self.settings = settings
        self.box = secret_box(settings)
        self.signer = ImageUrlSigner(settings.atelier_storage_signing_key, settings.pre_inference_image_url_ttl_s)
        self.public_url = settings.atelier_public_url.rstrip("/")
        self.concurrency = settings.pre_inference_webhook_concurrency
        # Past every timeout of one attempt, with room: a delivery is claimed again only when
        # its deliverer is surely gone.
        self.lease_s = 2 * (settings.pre_inference_webhook_connect_timeout_s + 2 * settings.pre_inference_webhook_read_timeout_s) + 30
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="webhook")

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    sent = self.deliver_once()
                except Exception:  # noqa: BLE001 - a failed pass (DB away) is retried after the interval
                    log.exception("webhook pass failed; retrying in %.1fs", self.settings.pre_inference_webhook_poll_s)
                    sent = 0
                if not sent:
                    self.stopping.wait(self.settings.pre_inference_webhook_poll_s)
        finally:
            self.pool.shutdown(wait=True)

    def stop(self) -> None:
        self.stopping.set()

    def deliver_once(self) -> int:
        """Claims due deliveries and sends them (at once, up to the concurrency); returns how many."""
        with self.factory() as session, session.begin():
            claimed = webhooks_repo.claim_due(session, limit=self.concurrency, lease_s=self.lease_s)
        for future in [self.pool.submit(self.deliver, one) for one in claimed]:
            future.result()
        return len(claimed)

    # --- one attempt ------------------------------------------------------------------

    def deliver(self, claimed: webhooks_repo.Claimed) -> None:
        try:
            self._deliver(claimed)
        except Exception:  # noqa: BLE001 - recorded by nobody: due again when its lease ends
            log.exception("webhook delivery %s failed unexpectedly", claimed.id)

    def _deliver(self, claimed: webhooks_repo.Claimed) -> None:
        data = self._data(claimed)
        if data is None:
            self._record(claimed, "failed", None, "the job no longer exists", 0.0)
            return
        try:
            secret = self.box.decrypt(claimed.secret_encrypted)
        except SecretUnreadable:
            self._record(claimed, "failed", None, "the endpoint's secret cannot be decrypted (PRE_INFERENCE_WEBHOOK_SECRETS_KEY changed?); rotate it", 0.0)
            return
        body = webhooks.body(claimed.id, claimed.event_type, claimed.created_at, data)
        outcome = webhook_sender.send(
            claimed.url, body, secret=secret, delivery_id=str(claimed.id), event_type=claimed.event_type,
            https_only=self.settings.atelier_env == "production",
            allow_private=self.settings.pre_inference_webhooks_allow_private_targets,
            connect_timeout_s=self.settings.pre_inference_webhook_connect_timeout_s,
            read_timeout_s=self.settings.pre_inference_webhook_read_timeout_s,
        )
        extra = {"delivery_id": str(claimed.id), "endpoint_id": str(claimed.endpoint_id), "attempt": claimed.attempt,
                 "status_code": outcome.status_code}
        if outcome.status_code is not None and webhooks.is_delivered(outcome.status_code):
            self._record(claimed, "delivered", outcome.status_code, None, outcome.duration_ms)
            log.info("webhook %s delivered", claimed.event_type, extra=extra)
            return
        if outcome.status_code == webhooks.GONE:
            reason = "the receiver answered 410 Gone"
            with self.factory() as session, session.begin():
                if webhooks_repo.record_attempt(session, claimed, status="failed", status_code=outcome.status_code,
                                                error=outcome.error, duration_ms=outcome.duration_ms):
                    webhooks_repo.disable_endpoint(session, claimed.endpoint_id, reason)
            count_webhook_attempt("disabled", outcome.duration_ms)
            log.warning("webhook endpoint disabled: %s", reason, extra=extra)
            return
        retry_at = webhooks.next_attempt_at(claimed.attempt, self.settings.pre_inference_webhook_max_attempts, datetime.now(timezone.utc))
        self._record(claimed, "pending" if retry_at else "failed", outcome.status_code, outcome.error, outcome.duration_ms, retry_at)
        log.warning("webhook %s not delivered (%s); %s", claimed.event_type, outcome.error,
                    f"retrying at {retry_at.isoformat()}" if retry_at else "giving up", extra=extra)

    def _record(self, claimed: webhooks_repo.Claimed, status: str, status_code: int | None, error: str | None,
                duration_ms: float, retry_at: datetime | None = None) -> None:
        with self.factory() as session, session.begin():
            webhooks_repo.record_attempt(session, claimed, status=status, status_code=status_code,
                                         error=error[:1000] if error else None, duration_ms=duration_ms, next_attempt_at=retry_at)
        count_webhook_attempt("retrying" if status == "pending" else status, duration_ms)

    def _data(self, claimed: webhooks_repo.Claimed) -> dict[str, Any] | None:
        if claimed.event_type == webhooks.PING:
            return {"endpoint_id": str(claimed.endpoint_id), "message": "a test event sent from Atelier"}
        with self.factory() as session:
            view = jobs_repo.get_job_view_sync(session.connection(), claimed.job_id, claimed.user_id)
        if view is None:
            return None
        job = job_out(view, self.signer).model_dump(mode="json")
        # The API answers relative URLs (the caller already talks to the gateway); a receiver
        # needs the gateway's address.
        for image in job["images"]:
            image["url"] = self.public_url + image["url"]
        return job


def main(settings: Settings | None = None) -> None:
    from atelier_kit.logs import configure_logging
    from atelier_kit.metrics import serve_metrics_from_env

    from app.adapters.db import make_sync_engine, make_sync_sessionmaker

    configure_logging("pre_inference", "webhooks")
    settings = settings or get_settings()
    engine = make_sync_engine(settings)
    deliverer = WebhookDeliverer(make_sync_sessionmaker(engine), settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: deliverer.stop())
    serve_metrics_from_env()  # run alone, it counts its attempts as it does inside the consumer
    try:
        deliverer.run()
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
