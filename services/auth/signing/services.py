"""Issuing and rotating token pairs."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.db import transaction
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User, normalize_email
from common import attempts

from . import sessions
from .models import Session
from .tokens import RefreshToken


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_code = "invalid_credentials"
    default_detail = "e-mail address or password is wrong"


def token_expired(message: str = "token has expired") -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code="token_expired")


def token_invalid(message: str = "token is invalid") -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code="token_invalid")


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def user_claims(user: User) -> dict[str, object]:
    """What every service may know about the caller without asking auth. Staff tokens also
    say so (``staff``, and ``superuser`` for superusers): the staff tools of other services
    and payments' admin take staff status from here, never from their own records."""
    claims: dict[str, object] = {"email": user.email, "tier": user.tier, "verified": user.email_verified}
    if user.is_staff and user.is_active:
        claims["staff"] = True
        if user.is_superuser:
            claims["superuser"] = True
    return claims


def issue_token_pair(user: User, session: Session | None = None) -> TokenPair:
    """A new pair in ``session`` (a rotation) or in a new session (a login). Both tokens
    carry the session's ``sid``, so one revocation reaches the whole family."""
    with transaction.atomic():
        session = session or sessions.start(user)
        refresh = RefreshToken()
        refresh["sub"] = str(user.pk)
        refresh["sid"] = str(session.sid)
        refresh.payload.update(user_claims(user))
        encoded = str(refresh)
        # Recorded so that rotation can blacklist it (and the admin can list a user's sessions).
        outstanding = OutstandingToken.objects.create(
            user=user,
            jti=refresh["jti"],
            token=encoded,
            created_at=refresh.current_time,
            expires_at=datetime_from_epoch(refresh["exp"]),
        )
        sessions.attach(session, outstanding)
    access = refresh.access_token  # copies sub, sid and the user claims
    access.set_iat(at_time=refresh.current_time)  # one clock for the pair: exp - iat is the lifetime
    return TokenPair(access=str(access), refresh=encoded)


def obtain_token_pair(*, email: str, password: str, address: str = "") -> TokenPair:
    pair, per_address = attempts.login_subjects(normalize_email(email), address)
    attempts.check(pair, per_address)
    # ModelBackend hashes a dummy password for unknown e-mail addresses, so the answer
    # takes as long for them as for a wrong password, and refuses inactive accounts.
    user = authenticate(email=email, password=password)
    if user is None:
        attempts.hit(pair, per_address)
        raise InvalidCredentials()
    attempts.reset(*pair)
    update_last_login(None, user)
    return issue_token_pair(user)


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except ExpiredTokenError as exc:
        raise token_expired("refresh token has expired") from exc
    except TokenError as exc:
        raise token_invalid(f"refresh token is not usable: {exc}") from exc


@dataclass(frozen=True)
class _Presented:
    """A refresh token presented to us, with its rows locked (user, session, token)."""

    user: User
    outstanding: OutstandingToken
    session: Session | None
    already_used: bool


def _lock_presented(token: RefreshToken) -> _Presented:
    """Lock what the token names, in the one lock order; the caller is in a transaction."""
    user = User.objects.select_for_update().filter(pk=_uuid_or_none(token.get("sub"))).first()
    if user is None:
        raise token_invalid("the account is no longer active")
    session = sessions.locked(sessions.sid_of(token), user)
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=token["jti"], user=user).order_by().first()
    if outstanding is None:
        raise token_invalid("refresh token is unknown")
    if session is not None and session.revoked_at is not None:
        raise sessions.TokenRevoked()
    return _Presented(user=user, outstanding=outstanding, session=session,
                      already_used=BlacklistedToken.objects.filter(token=outstanding).exists())


def _refuse_reuse(presented: _Presented, correlation_id: str | None) -> None:
    """A refresh token used a second time was copied: whoever holds the family now may be
    the thief, so the whole session ends (the raise comes after the commit)."""
    if presented.session is not None:
        sessions.revoke(presented.session, reason="refresh_reuse", correlation_id=correlation_id)


REUSED = "this refresh token was already used; its session has been ended, log in again"


def logout(raw: str, *, correlation_id: str | None = None) -> None:
    """End the session of this refresh token (every token of its family)."""
    token = _decode_refresh(raw)
    with transaction.atomic():
        presented = _lock_presented(token)
        if presented.already_used:
            _refuse_reuse(presented, correlation_id)
        elif presented.session is not None:
            sessions.revoke(presented.session, reason="logout", correlation_id=correlation_id)
        else:  # issued before sessions existed: the token is the whole family
            BlacklistedToken.objects.get_or_create(token=presented.outstanding)
    if presented.already_used:
        raise sessions.TokenRevoked(REUSED)


def rotate_refresh_token(raw: str, *, correlation_id: str | None = None) -> TokenPair:
    """Exchange a refresh token for a new pair in the same session; the old one can never
    be used again, and using it again ends the session.

    Claims are read again from the database, so a tier change shows in the next pair.
    """
    old = _decode_refresh(raw)
    with transaction.atomic():
        # The row locks make two concurrent uses of one token resolve to one success.
        presented = _lock_presented(old)
        if presented.already_used:
            _refuse_reuse(presented, correlation_id)
            pair = None
        else:
            BlacklistedToken.objects.create(token=presented.outstanding)
            if not presented.user.is_active:
                raise token_invalid("the account is no longer active")
            pair = issue_token_pair(presented.user, presented.session)
    if pair is None:
        raise sessions.TokenRevoked(REUSED)
    return pair


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def active_user(sub: object) -> User | None:
    user_id = _uuid_or_none(sub)
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()
