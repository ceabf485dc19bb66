"""The staff admin: who gets in, CSRF, the audited tier override, revoking keys."""
import re

import pytest
from django.test import Client

from accounts.models import AuditEntry, Tier, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import outbox_events
from apikeys.models import ApiKey
from apikeys.services import create_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ADMIN = "/admin/auth/"


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, email_verified=True)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csrf_of(page: bytes) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()


def test_anonymous_and_non_staff_are_sent_to_the_login_page():
    for client in (Client(), logged_in(UserFactory())):
        response = client.get(f"{ADMIN}accounts/user/")
        assert response.status_code == 302 and "/admin/auth/login/" in response["Location"]


def test_a_non_staff_person_cannot_log_into_the_admin():
    user = UserFactory()
    client = Client()
    page = client.get(f"{ADMIN}login/")
    response = client.post(f"{ADMIN}login/", {"username": user.email, "password": DEFAULT_PASSWORD,
                                               "csrfmiddlewaretoken": csrf_of(page.content)})
    assert response.status_code == 200 and b"staff account" in response.content


def test_admin_forms_refuse_posts_without_a_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"{ADMIN}login/", {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
    client.force_login(staff)
    target = UserFactory()
    response = client.post(f"{ADMIN}accounts/user/{target.pk}/change/", {"email": "changed@example.com"})
    assert response.status_code == 403
    assert User.objects.get(pk=target.pk).email == target.email


def test_staff_search_users_by_email(staff):
    UserFactory(email="findme@example.com")
    response = logged_in(staff).get(f"{ADMIN}accounts/user/", {"q": "findme"})
    assert response.status_code == 200 and b"findme@example.com" in response.content


def _change_form(client, user) -> dict:
    page = client.get(f"{ADMIN}accounts/user/{user.pk}/change/")
    assert page.status_code == 200
    return {"email": user.email, "tier_override": user.tier_override or "", "email_verified": "on" if user.email_verified else "",
            "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "csrfmiddlewaretoken": csrf_of(page.content)}


def test_tier_override_needs_a_reason_is_audited_and_published(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    user = UserFactory()
    form = _change_form(client, user)
    missing_reason = client.post(f"{ADMIN}accounts/user/{user.pk}/change/", {**form, "tier_override": "pro"})
    assert missing_reason.status_code == 200 and b"say why" in missing_reason.content
    assert User.objects.get(pk=user.pk).tier == Tier.FREE

    response = client.post(f"{ADMIN}accounts/user/{user.pk}/change/",
                           {**form, "tier_override": "pro", "tier_change_reason": "press account"})
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert (user.tier, user.tier_override) == (Tier.PRO, Tier.PRO)
    entry = AuditEntry.objects.get(action="tier.override", target_user_id=user.pk)
    assert (entry.actor_email, entry.old_value, entry.new_value, entry.reason) == (staff.email, "none", "pro", "press account")
    [event] = [e for e in outbox_events("auth.user.tier_changed") if e["data"]["user_id"] == str(user.pk)]
    assert event["data"]["reason"] == "staff" and event["data"]["tier"] == "pro"


def test_the_audit_log_is_read_only(staff):
    client = logged_in(staff)
    assert client.get(f"{ADMIN}accounts/auditentry/").status_code == 200
    assert client.get(f"{ADMIN}accounts/auditentry/add/").status_code == 403


def test_staff_revoke_api_keys_and_set_limits(staff):
    owner = UserFactory(email_verified=True)
    issued = create_key(owner, name="partner key")
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    page = client.get(f"{ADMIN}apikeys/apikey/{issued.key.pk}/change/")
    token = csrf_of(page.content)
    bad = client.post(f"{ADMIN}apikeys/apikey/{issued.key.pk}/change/",
                      {"name": "partner key", "tier_override": "partner", "limits": '{"bogus": 1}', "csrfmiddlewaretoken": token})
    assert bad.status_code == 200 and b"unknown limit" in bad.content
    ok = client.post(f"{ADMIN}apikeys/apikey/{issued.key.pk}/change/",
                     {"name": "partner key", "tier_override": "partner", "limits": '{"requests_per_minute": 1200}', "csrfmiddlewaretoken": token})
    assert ok.status_code == 302
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert key.tier_override == "partner" and key.limits == {"requests_per_minute": 1200}
    assert AuditEntry.objects.filter(action="api_key.limits", target_user_id=owner.pk).exists()

    listing = client.get(f"{ADMIN}apikeys/apikey/")
    response = client.post(f"{ADMIN}apikeys/apikey/", {"action": "revoke", "_selected_action": [str(issued.key.pk)],
                                                       "csrfmiddlewaretoken": csrf_of(listing.content)})
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=issued.key.pk).revoked_at is not None
    assert [e["data"]["key_id"] for e in outbox_events("auth.api_key.revoked")] == [str(issued.key.pk)]


def test_staff_can_log_a_person_out_everywhere(staff, api_client):
    from accounts.tests.helpers import bearer, error_code, login

    person = UserFactory()
    pair = login(api_client, person.email)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    listing = client.get(f"{ADMIN}accounts/user/")
    response = client.post(f"{ADMIN}accounts/user/", {"action": "end_sessions", "_selected_action": [str(person.pk)],
                                                      "csrfmiddlewaretoken": csrf_of(listing.content)})
    assert response.status_code == 302
    assert error_code(api_client.get("/api/auth/me", **bearer(pair["access"])), 401) == "token_revoked"
    refreshed = api_client.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert error_code(refreshed, 401) == "token_revoked"
    events = [e["data"] for e in outbox_events("auth.session.revoked") if e["data"]["user_id"] == str(person.pk)]
    assert [(e["session_id"] is None, e["reason"]) for e in events] == [(True, "admin"), (False, "admin")]
    assert AuditEntry.objects.filter(action="sessions.revoked", target_user_id=person.pk, actor_id=staff.pk).exists()
