"""Mail through a real SMTP server (aiosmtpd on a free local port), as production sends it."""
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class Collect(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture
def smtp_server(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def test_signup_and_reset_mail_go_through_smtp_after_commit(api_client, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        response = api_client.post("/api/auth/signup", {"email": "smtp@example.com", "password": "a long enough passphrase"},
                                   format="json")
    assert response.status_code == 201
    assert smtp_server.messages == []  # nothing leaves before the commit
    for callback in pending:
        callback()
    [message] = smtp_server.messages
    assert message["To"] == "smtp@example.com" and message["X-Atelier-Verification-Token"]
    assert "/verify?token=" + message["X-Atelier-Verification-Token"] in message.get_payload()

    user = UserFactory(email="reset@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post("/api/auth/password/reset", {"email": user.email}, format="json").status_code == 202
    assert smtp_server.messages[-1]["To"] == user.email and smtp_server.messages[-1]["X-Atelier-Reset-Token"]


def test_an_unreachable_smtp_server_does_not_fail_the_signup(api_client, settings, django_capture_on_commit_callbacks):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/auth/signup", {"email": "down@example.com", "password": "a long enough passphrase"},
                                   format="json")
    assert response.status_code == 201  # the account exists; the person can ask for a new link
