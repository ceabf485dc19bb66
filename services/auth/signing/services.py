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
    """What every service may know about the caller without asking auth."""
    return {"email": user.email, "tier": user.tier, "verified": user.email_verified}


def issue_token_pair(user: User) -> TokenPair:
    refresh = RefreshToken()
    refresh["sub"] = str(user.pk)
    refresh.payload.update(user_claims(user))
    encoded = str(refresh)
    # Recorded so that rotation can blacklist it (and the admin can list a user's sessions).
    OutstandingToken.objects.create(
        user=user,
        jti=refresh["jti"],
        token=encoded,
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    access = refresh.access_token
    access.set_iat(at_time=refresh.current_time)  # one clock for the pair: exp - iat is the lifetime
    return TokenPair(access=str(access), refresh=encoded)


def obtain_token_pair(*, email: str, password: str, address: str = "") -> TokenPair:
    account_limit, address_limit = attempts.login_limits()
    account = normalize_email(email)
    attempts.check((account_limit, account), (address_limit, address))
    # ModelBackend hashes a dummy password for unknown e-mail addresses, so the answer
    # takes as long for them as for a wrong password, and refuses inactive accounts.
    user = authenticate(email=email, password=password)
    if user is None:
        attempts.hit((account_limit, account), (address_limit, address))
        raise InvalidCredentials()
    attempts.reset(account_limit, account)
    update_last_login(None, user)
    return issue_token_pair(user)


def logout(raw: str) -> None:
    """Blacklist one refresh token (a revoked one no longer decodes: token_invalid)."""
    token = _decode_refresh(raw)
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).order_by().first()
    if outstanding is None:
        raise token_invalid("refresh token is unknown")
    BlacklistedToken.objects.get_or_create(token=outstanding)


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except ExpiredTokenError as exc:
        raise token_expired("refresh token has expired") from exc
    except TokenError as exc:
        raise token_invalid(f"refresh token is not usable: {exc}") from exc


def rotate_refresh_token(raw: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old one can never be used again.

    Claims are read again from the database, so a tier change shows in the next pair.
    """
    old = _decode_refresh(raw)
    with transaction.atomic():
        # The row lock makes two concurrent uses of one token resolve to one success.
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=old["jti"]).order_by().first()
        if outstanding is None:
            raise token_invalid("refresh token is unknown")
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            raise token_invalid("refresh token has already been used")
        BlacklistedToken.objects.create(token=outstanding)
        user = active_user(old.get("sub"))
        if user is None:
            raise token_invalid("the account is no longer active")
        return issue_token_pair(user)


def active_user(sub: object) -> User | None:
    try:
        user_id = uuid.UUID(str(sub))
    except ValueError:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()
