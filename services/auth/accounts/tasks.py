"""Celery tasks of auth (worker: ``celery -A config worker -Q auth``)."""
from __future__ import annotations

import logging

from celery import shared_task

from . import outgoing_mail

log = logging.getLogger(__name__)
MAX_RETRIES = 8
FIRST_RETRY_DELAY_S = 5
MAX_RETRY_DELAY_S = 600


def retry_delay_s(retries_so_far: int) -> int:
    """5, 10, 20 ... s, capped at 10 minutes: about 20 minutes of SMTP outage in all."""
    return min(FIRST_RETRY_DELAY_S * 2 ** retries_so_far, MAX_RETRY_DELAY_S)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def send_mail(self, mail_id: str) -> str:
    try:
        return outgoing_mail.deliver(mail_id)
    except outgoing_mail.TRANSIENT_MAIL_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            log.error("mail %s not sent after %d attempts: %r", mail_id, self.request.retries + 1, exc)
            raise
        log.warning("mail %s not sent (%r); retrying", mail_id, exc)
        raise self.retry(exc=exc, countdown=retry_delay_s(self.request.retries))


@shared_task(acks_late=True)
def requeue_unsent_mail(older_than_minutes: int = 30) -> int:
    """Beat runs this every few minutes: mail queued while the broker was down, or that ran out
    of retries during a long SMTP outage, is handed to the worker again (sending is idempotent
    per mail id, so a mail still in flight is never sent twice)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import OutgoingMail

    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    pending = list(OutgoingMail.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
                   .order_by("created_at").values_list("pk", flat=True)[:10_000])
    for mail_id in pending:
        send_mail.delay(str(mail_id))
    return len(pending)
