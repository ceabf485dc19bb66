"""Mail through the Celery task: after commit, retried with backoff while SMTP refuses,
sent exactly once when it comes back (a real aiosmtpd server on a free local port)."""
import socket

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from accounts.models import OutgoingMail
from accounts.outgoing_mail import ALREADY_SENT, queue_mail
from accounts.tasks import MAX_RETRIES, retry_delay_s, send_mail

SIGNUP = "/api/auth/signup"
PASSWORD = "a long enough passphrase"


class RefusingThenAccepting:
    """Answers 451 (try later) to the first ``refusals`` messages, then takes them."""

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.refused = 0
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refused < self.refusals:
            self.refused += 1
            return "451 4.3.0 mail server busy, try again later"
        self.accepted.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    def start(refusals: int) -> RefusingThenAccepting:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        handler = RefusingThenAccepting(refusals)
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = "127.0.0.1", port, False, 5
        return handler

    started = []
    yield start
    for controller in started:
        controller.stop()


def test_retry_delays_grow_exponentially_and_are_bounded():
    delays = [retry_delay_s(n) for n in range(MAX_RETRIES)]
    assert delays[:4] == [5, 10, 20, 40]
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:]))
    assert max(delays) <= 600 and retry_delay_s(50) == 600


@pytest.mark.integration
@pytest.mark.django_db
def test_refused_mail_is_retried_and_sent_once_when_smtp_comes_back(api_client, smtp, django_capture_on_commit_callbacks):
    server = smtp(refusals=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(SIGNUP, {"email": "retry@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    assert server.refused == 2 and len(server.accepted) == 1
    assert "retry@example.com" in server.accepted[0]
    mail = OutgoingMail.objects.get(to_address="retry@example.com")
    assert mail.sent_at is not None and mail.attempts == 3
    assert mail.body == "" and mail.headers == {}  # the one-time link does not stay in the database
    assert f"<{mail.pk}@" in server.accepted[0]  # Message-ID names the mail id
    # The task delivered again (a redelivery after a lost ack) sends nothing.
    assert send_mail.apply(args=[str(mail.pk)]).get() == ALREADY_SENT
    assert len(server.accepted) == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_retries_are_bounded_and_the_mail_is_kept_for_later(api_client, smtp, django_capture_on_commit_callbacks):
    server = smtp(refusals=1000)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/auth/password/reset", {"email": "nobody@example.com"}, format="json")
    assert response.status_code == 202  # SMTP trouble never reaches the caller
    mail = OutgoingMail.objects.get(to_address="nobody@example.com")
    assert mail.sent_at is None and mail.attempts == MAX_RETRIES + 1 and "451" in mail.last_error
    assert server.refused == MAX_RETRIES + 1 and server.accepted == []
    server.refusals = 0  # SMTP is back: sending the kept mail again delivers it once
    send_mail.apply(args=[str(mail.pk)])
    send_mail.apply(args=[str(mail.pk)])
    assert len(server.accepted) == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_a_rolled_back_transaction_sends_nothing(smtp, django_capture_on_commit_callbacks):
    server = smtp(refusals=0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                queue_mail(to="ghost@example.com", subject="never", body="never")
                raise RuntimeError("the state change failed")
    assert callbacks == [] and not OutgoingMail.objects.filter(to_address="ghost@example.com").exists()
    assert server.accepted == []


@pytest.mark.integration
@pytest.mark.django_db
def test_mail_left_unsent_is_queued_again_by_the_sweep(smtp):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    server = smtp(refusals=0)
    # As if the after-commit hand-off had failed (broker down): the row exists, no task ran.
    old = OutgoingMail.objects.create(to_address="late@example.com", subject="s", body="b",
                                      created_at=timezone.now() - timedelta(hours=1))
    young = OutgoingMail.objects.create(to_address="young@example.com", subject="s", body="b")
    call_command("send_pending_mail", "--older-than-minutes", "30")
    call_command("send_pending_mail", "--older-than-minutes", "30")
    assert len(server.accepted) == 1 and "late@example.com" in server.accepted[0]
    old.refresh_from_db(), young.refresh_from_db()
    assert old.sent_at is not None and young.sent_at is None


def test_beat_runs_the_sweep_every_few_minutes():
    from django.conf import settings

    from accounts.tasks import requeue_unsent_mail

    entry = settings.CELERY_BEAT_SCHEDULE["requeue-unsent-mail"]
    assert entry["task"] == requeue_unsent_mail.name and entry["schedule"] <= 600


def forget_connections(app):
    """Celery caches its connection pools; the next publish makes them from the new URL."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.integration
@pytest.mark.django_db
def test_while_the_task_queue_is_down_mail_is_sent_in_process(api_client, smtp, django_capture_on_commit_callbacks):
    from config.celery import app

    server = smtp(refusals=0)
    saved = app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_connection_timeout
    app.conf.task_always_eager, app.conf.broker_url = False, "amqp://guest:guest@127.0.0.1:9//"  # refused
    app.conf.broker_connection_timeout = 1
    forget_connections(app)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(SIGNUP, {"email": "outage@example.com", "password": PASSWORD}, format="json")
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_connection_timeout = saved
        forget_connections(app)
    assert response.status_code == 201
    assert len(server.accepted) == 1 and "outage@example.com" in server.accepted[0]
    assert OutgoingMail.objects.get(to_address="outage@example.com").sent_at is not None
