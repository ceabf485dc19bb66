"""E-mail leaves through Celery: ``queue_mail`` writes an ``OutgoingMail`` row in the
caller's transaction and hands its id to the ``send_mail`` task once that transaction
commits. An SMTP outage then delays mail (bounded retries with exponential backoff) instead
of losing it, and a rolled-back transaction sends nothing. Only while the task queue itself
is unreachable is the mail sent in-process (see ``_enqueue``)."""
from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .models import OutgoingMail

log = logging.getLogger(__name__)
# Failures worth retrying: the server refused for now, or could not be reached.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)
MESSAGE_ID_DOMAIN = "auth.atelier"


def queue_mail(*, to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> OutgoingMail:
    mail = OutgoingMail.objects.create(to_address=to, subject=subject, body=body, headers=headers or {})
    # robust: a broker that is down must not fail the request; the row stays unsent.
    transaction.on_commit(lambda: _enqueue(mail.pk), robust=True)
    return mail


def _enqueue(mail_id) -> None:
    """Hand the mail to the worker; while the broker is down, send it from here instead
    (what auth did before there was a worker), so that sign-up during a broker outage
    still gets its link. Either way the row lock and ``sent_at`` make it one mail."""
    from .tasks import send_mail  # the task module imports this one

    try:
        send_mail.apply_async(args=[str(mail_id)])
        return
    except Exception as exc:  # noqa: BLE001 - whatever kept it from the queue, sending here is safe (idempotent)
        log.warning("mail %s: the task queue is unavailable (%r); sending in-process", mail_id, exc)
    try:
        deliver(str(mail_id))
    except TRANSIENT_MAIL_ERRORS as exc:
        # Kept unsent: `manage.py send_pending_mail` hands it to the worker later.
        log.error("mail %s not sent (%r); left for send_pending_mail", mail_id, exc)


SENT, ALREADY_SENT, MISSING = "sent", "already_sent", "missing"


def deliver(mail_id: str) -> str:
    """Send the mail unless it was sent before. The row stays locked while it is sent, so
    two deliveries of the same task cannot both send; a transient failure is recorded and
    raised for the task to retry."""
    failure: Exception | None = None
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None:
            return MISSING
        if mail.sent_at is not None:
            return ALREADY_SENT
        mail.attempts += 1
        message = EmailMessage(mail.subject, mail.body, settings.DEFAULT_FROM_EMAIL, [mail.to_address],
                               headers={**mail.headers, "Message-ID": f"<{mail.pk}@{MESSAGE_ID_DOMAIN}>"})
        try:
            message.send()
        except TRANSIENT_MAIL_ERRORS as exc:
            # Recorded (the transaction still commits), then raised once the lock is gone.
            failure = exc
            mail.last_error = repr(exc)[:1000]
            mail.save(update_fields=["attempts", "last_error"])
        else:
            mail.sent_at = timezone.now()
            mail.body, mail.headers, mail.last_error = "", {}, ""
            mail.save(update_fields=["attempts", "sent_at", "body", "headers", "last_error"])
    if failure is not None:
        raise failure
    return SENT
