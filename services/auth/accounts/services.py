"""Domain actions on accounts. Views call these; these never see HTTP."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timezone as dt_timezone

from atelier_contracts import make_envelope
from atelier_messaging.django import publish_on_commit
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import Conflict

from .models import EmailVerificationToken, User, hash_token, normalize_email

PRODUCER = "auth"


class EmailTaken(Conflict):
    default_code = "email_taken"
    default_detail = "an account with this e-mail address already exists"


@dataclass(frozen=True)
class Registration:
    user: User
    verification_token: str  # the raw token; only its hash is stored


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
    message = EmailMessage("Confirm your Atelier e-mail address", body, to=[user.email])
    message.extra_headers["X-Atelier-Verification-Token"] = raw_token
    message.send()


def register_user(*, email: str, password: str, correlation_id: str | None = None) -> Registration:
    """Create the account, its verification token and the ``auth.user.registered`` event
    in one transaction; the e-mail goes out only once that transaction has committed."""
    user = User(email=normalize_email(email))
    user.set_password(password)  # hashing is slow: keep it outside the transaction
    try:
        with transaction.atomic():
            if User.objects.filter(email=user.email).exists():
                raise EmailTaken()
            user.save(force_insert=True)
            raw_token = create_verification_token(user)
            publish_on_commit(user_registered_envelope(user, correlation_id))
            transaction.on_commit(lambda: send_verification_email(user, raw_token), robust=True)
    except IntegrityError as exc:  # a concurrent signup won the race for this address
        raise EmailTaken() from exc
    return Registration(user=user, verification_token=raw_token)
