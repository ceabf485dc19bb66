"""Staff: the one command that makes a staff member, and the claims their tokens carry."""
import jwt
import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEntry, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import login, outbox_events

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
PASSWORD = "a staff passphrase of some length"


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_create_staff_makes_a_verified_superuser_announced_like_a_signup(monkeypatch):
    monkeypatch.setenv("ATELIER_STAFF_PASSWORD", PASSWORD)
    call_command("create_staff", "Boss@Example.com")
    user = User.objects.get(email="boss@example.com")
    assert user.is_staff and user.is_superuser and user.email_verified and user.check_password(PASSWORD)
    assert [e["data"]["user_id"] for e in outbox_events("auth.user.registered")] == [str(user.pk)]
    assert AuditEntry.objects.filter(action="staff.granted", target_user_id=user.pk, new_value="superuser").exists()


def test_create_staff_promotes_an_existing_account_and_keeps_its_password(monkeypatch):
    person = UserFactory(email="later-staff@example.com")
    monkeypatch.delenv("ATELIER_STAFF_PASSWORD", raising=False)  # not asked for: nothing to read
    call_command("create_staff", person.email, "--not-superuser")
    person.refresh_from_db()
    assert person.is_staff and not person.is_superuser and person.check_password(DEFAULT_PASSWORD)
    assert outbox_events("auth.user.registered") == []


def test_create_staff_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("ATELIER_STAFF_PASSWORD", "12345")
    with pytest.raises(CommandError):
        call_command("create_staff", "weak@example.com")
    assert not User.objects.filter(email="weak@example.com").exists()


def test_only_staff_tokens_carry_the_staff_claims(api_client):
    person = UserFactory(email_verified=True)
    staff = UserFactory(is_staff=True)
    boss = UserFactory(is_staff=True, is_superuser=True)
    person_claims = claims_of(login(api_client, person.email)["access"])
    assert "staff" not in person_claims and "superuser" not in person_claims
    staff_claims = claims_of(login(api_client, staff.email)["access"])
    assert staff_claims["staff"] is True and "superuser" not in staff_claims
    boss_claims = claims_of(login(api_client, boss.email)["access"])
    assert boss_claims["staff"] is True and boss_claims["superuser"] is True
