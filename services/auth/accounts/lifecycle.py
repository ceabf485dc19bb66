"""Account actions after sign-up: verify the e-mail address, reset or change the
password, delete the account. Mail leaves only after the transaction commits."""
from __future__ import annotations

import secrets

from atelier_contracts import make_envelope
from atelier_messaging.django import publish_on_commit
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.errors import ApiError, Conflict

from . import audit
from .outgoing_mail import queue_mail
from .passwords import check_new_password
from .models import EmailVerificationToken, PasswordResetToken, User, hash_token, normalize_email
from .services import PRODUCER, create_verification_token, iso, send_verification_email


class OneTimeTokenInvalid(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "token_invalid"
    default_detail = "this link is not valid or has already been used"


class AlreadyVerified(Conflict):
    default_code = "already_verified"
    default_detail = "this e-mail address is already verified"


def _consume(model, raw: str):
    """Lock and spend a one-time token; the row lock makes a token usable exactly once."""
    token = model.objects.select_for_update().select_related("user").filter(token_hash=hash_token(raw)).first()
    if token is None or token.used_at is not None or not token.user.is_active:
        raise OneTimeTokenInvalid()
    if not token.is_usable():
        raise OneTimeTokenInvalid("this link has expired; ask for a new one", code="token_expired")
    token.used_at = timezone.now()
    token.save(update_fields=["used_at"])
    return token


def _mark_verified(user: User, correlation_id: str | None) -> bool:
    updated = User.objects.filter(pk=user.pk, email_verified=False).update(email_verified=True)
    if updated:  # a conditional UPDATE: two verifications at once publish one event
        user.email_verified = True
        publish_on_commit(make_envelope(
            "auth.user.verified", 1, {"user_id": str(user.pk), "verified_at": iso(timezone.now())},
            producer=PRODUCER, correlation_id=correlation_id,
        ))
    return bool(updated)


def verify_email(raw: str, *, correlation_id: str | None = None) -> User:
    with transaction.atomic():
        try:
            token = _consume(EmailVerificationToken, raw)
        except OneTimeTokenInvalid:
            # A link opened again (a second click, another device) is spent or expired by now; its
            # holder learns only what the link already proved, so say the address is verified.
            if EmailVerificationToken.objects.filter(
                    token_hash=hash_token(raw), user__email_verified=True, user__is_active=True).exists():
                raise AlreadyVerified() from None
            raise
        _mark_verified(token.user, correlation_id)
        return token.user


def resend_verification(user: User) -> None:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.email_verified:
            raise AlreadyVerified()
        # Only the newest link works: older unused ones are spent now.
        EmailVerificationToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
        raw = create_verification_token(user)
        send_verification_email(user, raw)


def send_password_reset_email(user: User, raw: str) -> None:
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/reset-password?token={raw}"
    minutes = int(settings.PASSWORD_RESET_TTL.total_seconds() // 60)
    body = (
        "Someone asked to reset the password of your Atelier account.\n\n"
        f"Choose a new password by opening this link within {minutes} minutes:\n\n{link}\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n"
    )
    queue_mail(to=user.email, subject="Reset your Atelier password", body=body, headers={"X-Atelier-Reset-Token": raw})


def send_no_account_email(address: str) -> None:
    body = (
        "Someone asked to reset the password of an Atelier account for this e-mail address,\n"
        "but no active account uses it.\n\n"
        f"To create one, sign up at {settings.PUBLIC_BASE_URL.rstrip('/')}/signup\n"
        "If it was not you, ignore this message.\n"
    )
    queue_mail(to=address, subject="Your Atelier password reset request", body=body)


def request_password_reset(email: str) -> None:
    """Same answer and the same work whether or not the account exists: a token is made
    and hashed, and one e-mail leaves after commit (the link, or word that there is no
    account), so neither the answer nor its timing tells who has an account."""
    address = normalize_email(email)
    user = User.objects.filter(email=address, is_active=True).first()
    raw = secrets.token_urlsafe(32)
    token_hash = hash_token(raw)
    with transaction.atomic():
        if user is None:
            send_no_account_email(address)
            return
        PasswordResetToken.objects.create(user=user, token_hash=token_hash,
                                          expires_at=timezone.now() + settings.PASSWORD_RESET_TTL)
        send_password_reset_email(user, raw)


def end_sessions(user: User, *, reason: str, correlation_id: str | None = None) -> None:
    """Every session of the user ends now, access tokens included (auth.session.revoked)."""
    from signing.sessions import revoke_all  # signing depends on accounts, not back

    revoke_all(user, reason=reason, correlation_id=correlation_id)


def revoke_refresh_tokens(user: User) -> int:
    """Blacklist every refresh token of the user that is not already (sessions end)."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in live]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def confirm_password_reset(raw: str, new_password: str, *, correlation_id: str | None = None) -> User:
    with transaction.atomic():
        token = _consume(PasswordResetToken, raw)
        user = User.objects.select_for_update().get(pk=token.user_id)
        check_new_password(new_password, user)  # raising rolls back: the link stays usable
        user.set_password(new_password)
        user.save(update_fields=["password"])
        PasswordResetToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
        # Whoever knew the old password may hold a session: the reset ends all of them.
        end_sessions(user, reason="password_reset", correlation_id=correlation_id)
        # The link reached the mailbox: that proves the address as well as a verification.
        _mark_verified(user, correlation_id)
        audit.record("password.reset", target=user, actor=user)
        return user


def change_password(user: User, new_password: str, *, correlation_id: str | None = None) -> None:
    """Ends every session, the caller's too (the view gives the caller a fresh one)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(new_password)
        user.save(update_fields=["password"])
        end_sessions(user, reason="password_changed", correlation_id=correlation_id)
        audit.record("password.changed", target=user, actor=user)


def delete_account(user: User, *, correlation_id: str | None = None) -> None:
    from apikeys.services import revoke_all_for_user  # apikeys depends on accounts, not back

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        revoke_all_for_user(user, correlation_id=correlation_id)
        revoke_refresh_tokens(user)
        audit.record("user.deleted", target=user, actor=user)
        publish_on_commit(make_envelope(
            "auth.user.deleted", 1, {"user_id": str(user.pk), "deleted_at": iso(timezone.now())},
            producer=PRODUCER, correlation_id=correlation_id,
        ))
        user.delete()
