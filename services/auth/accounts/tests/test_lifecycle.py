"""Verification, logout, password change and reset, deletion: over HTTP."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import EmailVerificationToken, PasswordResetToken, User
from accounts.services import create_verification_token
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import bearer, error_code, login, outbox_events
from apikeys.services import create_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
NEW_PASSWORD = "another quite long passphrase"


def post(client, path, body, **extra):
    return client.post(path, body, format="json", **extra)


def token_in(message, header: str) -> str:
    return message.extra_headers[header]


# -- verification ------------------------------------------------------------------
def test_verify_marks_verified_once_and_publishes_once(api_client):
    user = UserFactory()
    raw = create_verification_token(user)
    response = post(api_client, "/api/auth/verify", {"token": raw})
    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True
    user.refresh_from_db()
    assert user.email_verified
    [event] = outbox_events("auth.user.verified")
    assert event["data"]["user_id"] == str(user.pk)
    again = post(api_client, "/api/auth/verify", {"token": raw})  # single use: the link opened a second time
    assert error_code(again, 409) == "already_verified"
    assert again.json()["error"]["message"] == "this e-mail address is already verified"
    assert len(outbox_events("auth.user.verified")) == 1


def test_an_expired_link_of_a_verified_address_says_it_is_verified(api_client):
    user = UserFactory(email_verified=True)
    raw = create_verification_token(user)
    EmailVerificationToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_code(post(api_client, "/api/auth/verify", {"token": raw}), 409) == "already_verified"


def test_expired_and_unknown_verification_tokens(api_client):
    user = UserFactory()
    raw = create_verification_token(user)
    EmailVerificationToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_code(post(api_client, "/api/auth/verify", {"token": raw}), 400) == "token_expired"
    assert error_code(post(api_client, "/api/auth/verify", {"token": "nope"}), 400) == "token_invalid"
    assert not User.objects.get(pk=user.pk).email_verified


def test_resend_sends_a_new_link_spends_the_old_and_is_rate_limited(api_client, django_capture_on_commit_callbacks, settings):
    settings.AUTH_RESEND_LIMIT_PER_ACCOUNT = (2, 3600)
    user = UserFactory()
    old = create_verification_token(user)
    api_client.credentials(**bearer(login(api_client, user.email)["access"]))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(api_client, "/api/auth/verify/resend", {}).status_code == 202
    new = token_in(mail.outbox[-1], "X-Atelier-Verification-Token")
    assert error_code(post(api_client, "/api/auth/verify", {"token": old}), 400) == "token_invalid"
    assert post(api_client, "/api/auth/verify/resend", {}).status_code == 202
    limited = post(api_client, "/api/auth/verify/resend", {})
    assert error_code(limited, 429) == "rate_limited" and int(limited["Retry-After"]) > 0
    assert error_code(post(api_client, "/api/auth/verify", {"token": new}), 400) == "token_invalid"  # spent by the 2nd


def test_resend_for_a_verified_account_or_without_a_token(api_client):
    assert error_code(post(api_client, "/api/auth/verify/resend", {}), 401) == "not_authenticated"
    user = UserFactory(email_verified=True)
    api_client.credentials(**bearer(login(api_client, user.email)["access"]))
    assert error_code(post(api_client, "/api/auth/verify/resend", {}), 409) == "already_verified"


# -- logout and password change ---------------------------------------------------------
def test_logout_revokes_the_refresh_token(api_client):
    user = UserFactory()
    pair = login(api_client, user.email)
    assert post(api_client, "/api/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    # a revoked token is no longer a credential, for logout as for anything else
    assert error_code(post(api_client, "/api/auth/logout", {"refresh": pair["refresh"]}), 401) == "token_revoked"
    assert error_code(post(api_client, "/api/auth/token/refresh", {"refresh": pair["refresh"]}), 401) == "token_revoked"
    assert error_code(post(api_client, "/api/auth/logout", {"refresh": "x.y.z"}), 401) == "token_invalid"
    assert error_code(post(api_client, "/api/auth/logout", {"refresh": pair["access"]}), 401) == "token_invalid"


def test_change_password_ends_other_sessions(api_client):
    user = UserFactory()
    other_session = login(api_client, user.email)
    mine = login(api_client, user.email)
    api_client.credentials(**bearer(mine["access"]))
    wrong = post(api_client, "/api/auth/password/change", {"old_password": "nope", "new_password": NEW_PASSWORD})
    assert error_code(wrong, 400) == "validation_error" and "old_password" in wrong.json()["error"]["fields"]
    weak = post(api_client, "/api/auth/password/change", {"old_password": DEFAULT_PASSWORD, "new_password": "12345678"})
    assert error_code(weak, 400) == "validation_error" and "new_password" in weak.json()["error"]["fields"]
    ok = post(api_client, "/api/auth/password/change", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert ok.status_code == 200, ok.content
    for old in (other_session["refresh"], mine["refresh"]):
        assert error_code(post(api_client, "/api/auth/token/refresh", {"refresh": old}), 401) == "token_revoked"
    assert post(api_client, "/api/auth/token/refresh", {"refresh": ok.json()["refresh"]}).status_code == 200
    login(api_client, user.email, NEW_PASSWORD)


# -- password reset --------------------------------------------------------------
def test_reset_is_202_for_everyone_and_mails_only_real_accounts(api_client, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(api_client, "/api/auth/password/reset", {"email": user.email.upper()}).status_code == 202
    assert [m.to for m in mail.outbox] == [[user.email]]
    raw = token_in(mail.outbox[0], "X-Atelier-Reset-Token")
    assert raw in mail.outbox[0].body and PasswordResetToken.objects.get(user=user).token_hash != raw

    weak = post(api_client, "/api/auth/password/reset/confirm", {"token": raw, "new_password": "password"})
    assert error_code(weak, 400) == "validation_error"
    pair = login(api_client, user.email)
    ok = post(api_client, "/api/auth/password/reset/confirm", {"token": raw, "new_password": NEW_PASSWORD})
    assert ok.status_code == 200, ok.content
    again = post(api_client, "/api/auth/password/reset/confirm", {"token": raw, "new_password": NEW_PASSWORD + "!"})
    assert error_code(again, 400) == "token_invalid"
    assert error_code(post(api_client, "/api/auth/token/refresh", {"refresh": pair["refresh"]}), 401) == "token_revoked"
    login(api_client, user.email, NEW_PASSWORD)
    assert User.objects.get(pk=user.pk).email_verified  # the link proved the mailbox


def test_reset_answers_and_works_the_same_for_known_and_unknown_addresses(
        api_client, django_capture_on_commit_callbacks, monkeypatch):
    """Audit finding 10: a known address took a few ms longer (token, insert, mail)."""
    import accounts.lifecycle

    hashed: list[str] = []
    original = accounts.lifecycle.hash_token
    monkeypatch.setattr(accounts.lifecycle, "hash_token", lambda raw: hashed.append(raw) or original(raw))
    UserFactory(email="known@example.com")
    outcomes = []
    for email in ("known@example.com", "unknown@example.com"):
        mail.outbox.clear()
        hashed.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = post(api_client, "/api/auth/password/reset", {"email": email})
        outcomes.append((response.status_code, response.json(), len(hashed), [m.to for m in mail.outbox]))
    known, unknown = outcomes
    assert known[:3] == unknown[:3] == (202, {"status": "accepted"}, 1)
    assert known[3] == [["known@example.com"]] and unknown[3] == [["unknown@example.com"]]  # one mail each
    assert "X-Atelier-Reset-Token" not in mail.outbox[0].extra_headers  # no link for an address without account
    assert PasswordResetToken.objects.count() == 1


def test_expired_reset_token(api_client, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        post(api_client, "/api/auth/password/reset", {"email": user.email})
    raw = token_in(mail.outbox[0], "X-Atelier-Reset-Token")
    PasswordResetToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(api_client, "/api/auth/password/reset/confirm", {"token": raw, "new_password": NEW_PASSWORD})
    assert error_code(response, 400) == "token_expired"
    login(api_client, user.email)  # unchanged


# -- deletion ---------------------------------------------------------------------
def test_delete_account_needs_the_password_then_revokes_everything(api_client):
    user = UserFactory(email_verified=True)
    key = create_key(user, name="k")
    pair = login(api_client, user.email)
    api_client.credentials(**bearer(pair["access"]))
    wrong = api_client.delete("/api/auth/me", {"password": "nope"}, format="json")
    assert error_code(wrong, 400) == "validation_error"
    assert error_code(api_client.delete("/api/auth/me"), 400) == "validation_error"
    assert api_client.delete("/api/auth/me", {"password": DEFAULT_PASSWORD}, format="json").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    [deleted] = outbox_events("auth.user.deleted")
    assert deleted["data"]["user_id"] == str(user.pk)
    assert [e["data"]["key_id"] for e in outbox_events("auth.api_key.revoked")] == [str(key.key.pk)]
    assert error_code(api_client.get("/api/auth/me"), 401) == "token_invalid"
    assert error_code(post(api_client, "/api/auth/token/refresh", {"refresh": pair["refresh"]}), 401) == "token_invalid"
    assert OutstandingToken.objects.filter(jti__isnull=False, blacklistedtoken__isnull=True, user__isnull=False).count() == 0


# -- bad input on every new route ------------------------------------------------------
PUBLIC_BODIES = {
    "/api/auth/verify": [{}, {"token": 1}, {"token": "x" * 200}, {"token": "t", "x": 1}],
    # An empty body is a browser logging out with its cookie (signing/tests/test_session_cookie.py).
    "/api/auth/logout": [{"refresh": 5}, {"refresh": None}, {"refresh": "x" * 5000}, {"refresh": "a", "b": 1}],
    "/api/auth/password/reset": [{}, {"email": "not-an-address"}, {"email": 5}, {"email": "a@b.co", "x": 1}],
    "/api/auth/password/reset/confirm": [{}, {"token": "t"}, {"token": "t", "new_password": 5},
                                         {"token": "t", "new_password": "x" * 129}, {"token": "t", "new_password": "p", "x": 1}],
}


@pytest.mark.parametrize("path, body", [(p, b) for p, bodies in PUBLIC_BODIES.items() for b in bodies])
def test_bad_bodies_on_public_routes(api_client, path, body):
    assert error_code(post(api_client, path, body), 400) == "validation_error"


@pytest.mark.parametrize("path", [*PUBLIC_BODIES, "/api/auth/password/change", "/api/auth/verify/resend"])
def test_malformed_json_and_wrong_media_type(api_client, path):
    user = UserFactory()
    api_client.credentials(**bearer(login(api_client, user.email)["access"]))
    assert error_code(api_client.generic("POST", path, b"{", content_type="application/json"), 400) == "invalid_json"
    assert error_code(api_client.generic("POST", path, b"a=b", content_type="text/plain"), 415) == "unsupported_media_type"
    assert error_code(api_client.generic("POST", path, b'{"a": "' + b"x" * 20000 + b'"}',
                                         content_type="application/json"), 413) == "payload_too_large"
    assert error_code(api_client.get(path), 405) == "method_not_allowed"


@pytest.mark.parametrize("body", [{}, {"old_password": "a"}, {"old_password": 1, "new_password": "b"},
                                  {"old_password": "a", "new_password": "b", "x": 1}])
def test_bad_password_change_bodies(api_client, body):
    user = UserFactory()
    api_client.credentials(**bearer(login(api_client, user.email)["access"]))
    assert error_code(post(api_client, "/api/auth/password/change", body), 400) == "validation_error"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer a.b.c"])
def test_authenticated_routes_refuse_missing_or_forged_tokens(api_client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    for path in ["/api/auth/verify/resend", "/api/auth/password/change"]:
        assert post(api_client, path, {}, **extra).status_code == 401
    assert api_client.delete("/api/auth/me", {"password": "x"}, format="json", **extra).status_code == 401


def test_verification_link_matches_the_token(django_capture_on_commit_callbacks, api_client):
    with django_capture_on_commit_callbacks(execute=True):
        post(api_client, "/api/auth/signup", {"email": "link@example.com", "password": NEW_PASSWORD})
    message = mail.outbox[-1]
    raw = token_in(message, "X-Atelier-Verification-Token")
    assert re.search(r"/verify\?token=" + re.escape(raw), message.body)
