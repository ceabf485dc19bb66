import json
import uuid

import pytest
from atelier_contracts import validate
from django.core import mail
from django.db import connection

from accounts.models import EmailVerificationToken, User

from .factories import UserFactory

pytestmark = pytest.mark.integration
SIGNUP = "/api/auth/signup"
GOOD_PASSWORD = "a sufficiently long passphrase"


def outbox_rows(user_id: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT routing_key, exchange, body FROM outbox ORDER BY id")
        rows = [{"routing_key": r[0], "exchange": r[1], "body": json.loads(r[2])} for r in cursor.fetchall()]
    return [r for r in rows if r["body"]["data"].get("user_id") == user_id]


@pytest.mark.django_db
def test_signup_creates_user_event_and_mail(api_client, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.ATELIER_MAIL_DIR = tmp_path
    settings.EMAIL_BACKEND = "accounts.mail.EmlFileBackend"  # Django's test setup swaps in locmem
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            SIGNUP, {"email": "New.Person@Example.COM", "password": GOOD_PASSWORD}, format="json",
            HTTP_X_REQUEST_ID="req-123",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "email", "tier"}
    assert body["email"] == "new.person@example.com"
    assert body["tier"] == "free"
    user = User.objects.get(pk=body["id"])
    assert user.check_password(GOOD_PASSWORD) and not user.email_verified

    rows = outbox_rows(body["id"])
    assert len(rows) == 1
    envelope = rows[0]["body"]
    validate(envelope)
    assert rows[0]["routing_key"] == "auth.user.registered.v1"
    assert envelope["producer"] == "auth"
    assert envelope["correlation_id"] == "req-123"
    assert envelope["data"]["email"] == "new.person@example.com"
    assert envelope["data"]["verified"] is False

    token = EmailVerificationToken.objects.get(user=user)
    assert token.is_usable()
    mails = list(tmp_path.glob("*.eml"))
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "To: new.person@example.com" in text
    # The raw token is in the mail; only its hash is stored.
    assert token.token_hash not in text and "verify?token=" in text


@pytest.mark.django_db
def test_signup_rolled_back_on_failure_leaves_no_event(api_client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.services.create_verification_token", explode)
    api_client.raise_request_exception = False
    response = api_client.post(SIGNUP, {"email": "x@example.com", "password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert not User.objects.filter(email="x@example.com").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outbox WHERE body::jsonb -> 'data' ->> 'email' = 'x@example.com'")
        assert cursor.fetchone()[0] == 0


@pytest.fixture
def hashes(monkeypatch):
    """Counts password hashes: the slow part of signup, which both outcomes must do."""
    calls: list[str] = []
    original = User.set_password

    def counting(self, raw):
        calls.append(self.email)
        return original(self, raw)

    monkeypatch.setattr(User, "set_password", counting)
    return calls


@pytest.mark.django_db
def test_a_known_address_gets_the_same_answer_and_work_and_its_owner_a_mail(
        api_client, django_capture_on_commit_callbacks, hashes):
    """Audit finding 10: signup answered 409 email_taken, telling anyone who has an account."""
    owner = UserFactory(email="taken@example.com")
    hashes.clear()
    answers, sent = [], []
    for email in ("TAKEN@example.com", "fresh@example.com"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(SIGNUP, {"email": email, "password": GOOD_PASSWORD}, format="json")
        answers.append(response)
        sent.append([(m.to, m.subject) for m in mail.outbox])
    known, new = answers
    assert known.status_code == new.status_code == 201
    assert set(known.json()) == set(new.json()) == {"id", "email", "tier"}
    assert known.json()["email"] == "taken@example.com" and known.json()["tier"] == new.json()["tier"] == "free"
    assert uuid.UUID(known.json()["id"]).version == 4 and known.json()["id"] != str(owner.pk)
    assert hashes == ["taken@example.com", "fresh@example.com"]  # the password hashed either way
    assert sent[0] == [(["taken@example.com"], "You already have an Atelier account")]
    assert len(sent[1]) == 1 and sent[1][0][0] == ["fresh@example.com"]  # one mail either way
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert not User.objects.filter(pk=known.json()["id"]).exists()
    assert outbox_rows(str(owner.pk)) == []


@pytest.mark.django_db
def test_database_refuses_case_variant_duplicates():
    from django.db import IntegrityError, transaction

    UserFactory(email="dup@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="DUP@example.com")


@pytest.mark.django_db
def test_password_validators_apply(api_client):
    response = api_client.post(SIGNUP, {"email": "weak@example.com", "password": "12345678"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "password" in error["fields"]
    assert not User.objects.filter(email="weak@example.com").exists()


@pytest.mark.django_db
def test_signup_ids_are_uuids(api_client):
    response = api_client.post(SIGNUP, {"email": "u@example.com", "password": GOOD_PASSWORD}, format="json")
    assert uuid.UUID(response.json()["id"]).version == 4


@pytest.mark.django_db
def test_lost_race_for_an_address_is_the_same_201_not_500(api_client):
    # A row the pre-check cannot see stands in for a concurrent signup that commits first:
    # the database constraint then decides, and the loser gets the same answer as anyone.
    UserFactory(email="race@example.com")
    User.objects.filter(email="race@example.com").update(email="RACE@example.com")
    response = api_client.post(SIGNUP, {"email": "race@example.com", "password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"id", "email", "tier"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outbox WHERE body::jsonb -> 'data' ->> 'email' = 'race@example.com'")
        assert cursor.fetchone()[0] == 0
