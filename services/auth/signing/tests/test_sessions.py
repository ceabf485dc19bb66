"""Sessions end at once (audit finding 8): logout, a password change or reset and a reused
refresh token revoke the session's tokens, and ``auth.session.revoked`` tells the gateway."""
from datetime import datetime

import jwt
import pytest
from django.core import mail
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import bearer, error_code, login, outbox_events
from signing.models import Session

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
NEW_PASSWORD = "a whole new passphrase 42"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def post(client, path, body):
    return client.post(path, body, format="json")


def refresh(client, token):
    return post(client, "/api/auth/token/refresh", {"refresh": token})


def me(client, access):
    return client.get("/api/auth/me", **bearer(access))


def revoked_events(user) -> list[dict]:
    # make_envelope validated each against the v1 schema when it was written.
    return [e["data"] for e in outbox_events("auth.session.revoked") if e["data"]["user_id"] == str(user.pk)]


def instant(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def live_refresh_tokens(user) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


def test_every_token_names_its_session_which_stays_the_same_across_rotations(api_client):
    user = UserFactory()
    first = login(api_client, user.email)
    second = refresh(api_client, first["refresh"]).json()
    access, refreshed = claims(first["access"]), claims(second["access"])
    assert {"sid", "iat"} <= set(access) and access["sid"] == claims(first["refresh"])["sid"]
    assert refreshed["sid"] == access["sid"] == claims(second["refresh"])["sid"]
    assert claims(login(api_client, user.email)["access"])["sid"] != access["sid"]  # a new login, a new session


def test_reusing_a_rotated_refresh_token_revokes_its_whole_family(api_client):
    user = UserFactory()
    first = login(api_client, user.email)
    other_session = login(api_client, user.email)
    second = refresh(api_client, first["refresh"]).json()
    third = refresh(api_client, second["refresh"]).json()

    assert error_code(refresh(api_client, first["refresh"]), 401) == "token_revoked"  # the thief's copy
    assert error_code(refresh(api_client, third["refresh"]), 401) == "token_revoked"  # and the family with it
    assert error_code(me(api_client, third["access"]), 401) == "token_revoked"
    sid = claims(first["access"])["sid"]
    [event] = revoked_events(user)
    assert event["session_id"] == sid and event["reason"] == "refresh_reuse"
    assert instant(event["revoked_before"]) > claims(third["access"])["iat"]
    assert Session.objects.get(sid=sid).revoked_at is not None

    # Other sessions of the person are not the family: they carry on.
    assert me(api_client, other_session["access"]).status_code == 200
    assert refresh(api_client, other_session["refresh"]).status_code == 200
    # Using it yet again changes nothing more: one event per ending.
    assert error_code(refresh(api_client, second["refresh"]), 401) == "token_revoked"
    assert len(revoked_events(user)) == 1


def test_logout_ends_the_session_and_says_which(api_client):
    user = UserFactory()
    pair = login(api_client, user.email)
    other_session = login(api_client, user.email)
    assert post(api_client, "/api/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    [event] = revoked_events(user)
    assert event["session_id"] == claims(pair["access"])["sid"] and event["reason"] == "logout"
    assert instant(event["revoked_before"]) > claims(pair["access"])["iat"]
    assert error_code(me(api_client, pair["access"]), 401) == "token_revoked"
    assert me(api_client, other_session["access"]).status_code == 200


def test_reset_ends_every_session_of_the_person(api_client, django_capture_on_commit_callbacks):
    user = UserFactory()
    sessions = [login(api_client, user.email) for _ in range(3)]
    rotated = refresh(api_client, sessions[0]["refresh"]).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(api_client, "/api/auth/password/reset", {"email": user.email}).status_code == 202
    raw = mail.outbox[-1].extra_headers["X-Atelier-Reset-Token"]
    assert post(api_client, "/api/auth/password/reset/confirm", {"token": raw, "new_password": NEW_PASSWORD}).status_code == 200

    assert live_refresh_tokens(user) == 0
    for pair in [rotated, *sessions[1:]]:
        assert error_code(refresh(api_client, pair["refresh"]), 401) == "token_revoked"
        assert error_code(me(api_client, pair["access"]), 401) == "token_revoked"
    event, *per_session = revoked_events(user)
    assert event["session_id"] is None and event["reason"] == "password_reset"
    assert instant(event["revoked_before"]) <= int(datetime.now().timestamp())
    # Each live session is named too, bounded after its last token: none slips through
    # for having been issued in the very second of the reset.
    assert sorted(e["session_id"] for e in per_session) == sorted(claims(p["access"])["sid"] for p in sessions)
    assert all(instant(e["revoked_before"]) > claims(rotated["access"])["iat"] for e in per_session)
    # The new password starts a session the revocation does not reach.
    fresh = login(api_client, user.email, NEW_PASSWORD)
    assert claims(fresh["access"])["iat"] >= instant(event["revoked_before"])
    assert me(api_client, fresh["access"]).status_code == 200


def test_a_password_change_ends_every_session_and_gives_the_caller_a_fresh_one(api_client):
    user = UserFactory()
    other_session = login(api_client, user.email)
    mine = login(api_client, user.email)
    api_client.credentials(**bearer(mine["access"]))
    changed = post(api_client, "/api/auth/password/change", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.content
    api_client.credentials()

    event, *per_session = revoked_events(user)
    assert event["session_id"] is None and event["reason"] == "password_changed"
    assert {e["session_id"] for e in per_session} == {claims(p["access"])["sid"] for p in (other_session, mine)}
    for pair in (other_session, mine):
        assert error_code(me(api_client, pair["access"]), 401) == "token_revoked"
    fresh = changed.json()
    assert claims(fresh["access"])["sid"] not in {claims(other_session["access"])["sid"], claims(mine["access"])["sid"]}
    assert claims(fresh["access"])["iat"] >= instant(event["revoked_before"])  # the gateway keeps honouring it
    assert me(api_client, fresh["access"]).status_code == 200
    assert live_refresh_tokens(user) == 1
