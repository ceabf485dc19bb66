"""Webhook delivery with retries and exponential backoff (2, 4, 8 ... s, capped)."""
from __future__ import annotations

from celery import shared_task

from . import services

MAX_RETRIES = 10


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deliver_webhook(self, event_id: str) -> str:
    outcome = services.deliver(event_id)
    if outcome == services.RETRY:
        if self.request.retries >= self.max_retries:
            return "gave_up_for_now"  # the periodic sweep tries again later
        raise self.retry(countdown=min(2 ** (self.request.retries + 1), 600))
    return outcome


@shared_task
def redeliver_pending_webhooks() -> int:
    """Catch what a broker outage or a lost task left undelivered."""
    pending = services.pending_webhooks()
    for event_id in pending:
        services.enqueue_delivery(event_id)
    return len(pending)
