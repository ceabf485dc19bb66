"""Domain actions on accounts. Views call these; these never see HTTP."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timezone as dt_timezone

from atelier_contracts import make_envelope
from atelier_messaging.django import publish_on_commit
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .outgoing_mail import queue_mail
from .models import EmailVerificationToken, User, hash_token, normalize_email

PRODUCER = "auth"


@dataclass(frozen=True)
class Registration:
    user: User
    verification_token: str | None  # the raw token (only its hash is stored); None for a known address


def iso(moment) -> str:
    return moment.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def user_registered_envelope(user: User, correlation_id: str | None):
    return make_envelope(
        "auth.user.registered",
        1,
        {
            "user_id": str(user.pk),
            "email": user.email,
            "tier": user.tier,
            "verified": user.email_verified,
            "registered_at": iso(user.date_joined),
        },
        producer=PRODUCER,
        correlation_id=correlation_id,
    )


def create_verification_token(user: User) -> str:
    raw = secrets.token_urlsafe(32)
    EmailVerificationToken.objects.create(
        user=user,
        token_hash=hash_token(raw),
        expires_at=timezone.now() + settings.EMAIL_VERIFICATION_TTL,
    )
    return raw


def send_verification_email(user: User, raw_token: str) -> None:
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/verify?token={raw_token}"
    hours = int(settings.EMAIL_VERIFICATION_TTL.total_seconds() // 3600)
    body = (
        "Welcome to Atelier.\n\n"
        f"Confirm your e-mail address by opening this link within {hours} hours:\n\n{link}\n\n"
        "If you did not sign up, ignore this message.\n"
    )
    queue_mail(to=user.email, subject="Confirm your Atelier e-mail address", body=body,
               headers={"X-Atelier-Verification-Token": raw_token})


def send_already_registered_email(email: str) -> None:
    """Signing up with an address that has an account tells its owner, not the caller."""
    link = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/login"
    reset = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/reset-password"
    body = (
        "Someone tried to create an Atelier account with this e-mail address, which already has one.\n\n"
        f"If it was you, log in at {link}\n"
        f"or choose a new password at {reset}\n\n"
        "If it was not you, ignore this message: nothing has changed.\n"
    )
    queue_mail(to=email, subject="You already have an Atelier account", body=body)


def register_user(*, email: str, password: str, correlation_id: str | None = None) -> Registration:
    """Create the account, its verification token and the ``auth.user.registered`` event
    in one transaction; the e-mail goes out only once that transaction has committed.

    An address that already has an account gets the same answer (a registration that
    looks like any other, with an id that names nothing) and the same amount of work (the
    password is hashed, one e-mail leaves after commit): what signup says must not reveal
    who has an account. The owner's mail says someone tried."""
    user = User(email=normalize_email(email))
    user.set_password(password)  # hashing is slow: keep it outside the transaction, for both outcomes
    try:
        with transaction.atomic():
            if User.objects.filter(email=user.email).exists():
                return _already_registered(user)
            user.save(force_insert=True)
            raw_token = create_verification_token(user)
            publish_on_commit(user_registered_envelope(user, correlation_id))
            send_verification_email(user, raw_token)
    except IntegrityError:  # a concurrent signup won the race for this address
        return _already_registered(user)
    return Registration(user=user, verification_token=raw_token)


def _already_registered(stand_in: User) -> Registration:
    """``stand_in`` was never saved: its random id and default tier look like a new account's."""
    address = stand_in.email
    send_already_registered_email(address)
    return Registration(user=stand_in, verification_token=None)
