"""Staff log into payments' admin with their auth identity (one account for both admins).

Auth owns people and passwords, so this backend asks it: the e-mail address and password go
to auth's login API (bounded by ``PAYMENTS_AUTH_TIMEOUT_S``), the access token that comes back
is verified against auth's JWKS like any other, and only a token with auth's ``staff`` claim
lets the person in. The session auth opened for the check is ended at once: the admin keeps
its own Django session. A local user row (username = the e-mail address, no usable password)
holds what payments owns about staff: its groups and permissions, and the admin's log; its
``is_staff``/``is_superuser`` are set from auth's claims on every login.
"""
from __future__ import annotations

import logging

import httpx
from atelier_django.client_address import client_address
from atelier_identity import Identity, TokenError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import transaction

from .authentication import get_verifier

log = logging.getLogger("payments.staff_login")


class AuthUnavailable(Exception):
    """Auth could not be asked; the login form says so instead of "wrong password"."""


class AuthThrottled(AuthUnavailable):
    """Auth refuses more attempts for this account from this address for a while."""


def _post(path: str, body: dict, request) -> httpx.Response:
    headers = {"X-Forwarded-For": client_address(request)} if request is not None else {}
    return httpx.post(f"{settings.AUTH_URL}{path}", json=body, headers=headers,
                      timeout=settings.PAYMENTS_AUTH_TIMEOUT_S, trust_env=False)


def auth_identity(email: str, password: str, request=None) -> Identity | None:
    """The person auth vouches for with these credentials (None for wrong ones), with the
    claims of their access token. Raises AuthUnavailable."""
    try:
        response = _post("/api/auth/token", {"email": email, "password": password}, request)
    except httpx.HTTPError as exc:
        raise AuthUnavailable(f"auth could not be reached: {type(exc).__name__}") from exc
    if response.status_code in (400, 401):
        return None
    if response.status_code == 429:
        raise AuthThrottled("auth refuses more login attempts from here for now")
    if response.status_code != 200:
        raise AuthUnavailable(f"auth answered {response.status_code}")
    pair = response.json()
    try:
        identity = get_verifier().verify(pair["access"])
    except TokenError as exc:
        raise AuthUnavailable(f"auth's token could not be verified: {exc.message}") from exc
    _end_auth_session(pair.get("refresh"), request)
    return identity


def _end_auth_session(refresh: str | None, request) -> None:
    # Best effort: the session would expire on its own, and the login has succeeded already.
    if not refresh:
        return
    try:
        _post("/api/auth/logout", {"refresh": refresh}, request)
    except httpx.HTTPError as exc:
        log.warning("could not end the auth session opened for a staff login: %r", exc)


class AuthServiceBackend(ModelBackend):
    """``authenticate`` asks auth; permissions and sessions are ModelBackend's (local rows)."""

    def authenticate(self, request, username: str | None = None, password: str | None = None, **kwargs):
        if not username or not password:
            return None
        identity = auth_identity(username, password, request)
        if identity is None or not identity.email:
            return None
        if identity.claims.get("staff") is not True:
            _withdraw_staff(identity.email)
            return None
        return _local_staff_user(identity)

    def user_can_authenticate(self, user) -> bool:
        # Checked on every request of a session: one whose row lost staff ends at once.
        return super().user_can_authenticate(user) and user.is_staff


def _local_staff_user(identity: Identity):
    users = get_user_model()
    superuser = identity.claims.get("superuser") is True
    with transaction.atomic():
        user, created = users.objects.select_for_update().get_or_create(
            username=identity.email, defaults={"email": identity.email})
        if created:
            user.set_unusable_password()
        user.email, user.is_staff, user.is_active, user.is_superuser = identity.email, True, True, superuser
        user.save()
    return user


def _withdraw_staff(email: str) -> None:
    """Auth no longer calls this person staff: their open admin sessions here end too."""
    get_user_model().objects.filter(username=email).update(is_staff=False, is_superuser=False)
