"""Sessions: the family of refresh tokens that one login starts and rotation extends.

Every token of a family carries its ``sid``. Ending a session blacklists all of its
refresh tokens at once, and ``auth.session.revoked`` tells every service holding access
tokens (the gateway) to stop honouring them before they expire.

Lock order, everywhere: the user row, then the session row, then refresh-token rows.
Rotation, logout and the revocations all take them in that order, so they queue behind
each other instead of deadlocking, and a rotation can never slip a new token into a
family that a concurrent revocation has just ended.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from atelier_contracts import make_envelope
from atelier_messaging.django import publish_on_commit
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import status
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services import PRODUCER, iso
from common.errors import ApiError

from .models import Session, SessionToken

REASONS = ("logout", "password_changed", "password_reset", "refresh_reuse", "admin")


class TokenRevoked(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "token_revoked"
    default_detail = "this session has ended; log in again"
    auth_header = 'Bearer realm="atelier", error="invalid_token"'


def start(user: User) -> Session:
    return Session.objects.create(user=user)


def attach(session: Session, outstanding: OutstandingToken) -> None:
    SessionToken.objects.create(token=outstanding, session=session)


def sid_of(token) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(token["sid"]))
    except (KeyError, ValueError):
        return None  # issued before sessions existed: a family of its own


def locked(sid: uuid.UUID | None, user: User) -> Session | None:
    if sid is None:
        return None
    return Session.objects.select_for_update().filter(sid=sid, user=user).first()


def is_revoked(sid: object) -> bool:
    """For access tokens presented to auth itself; a token without ``sid`` predates sessions."""
    try:
        sid = uuid.UUID(str(sid))
    except ValueError:
        return True  # we never sign a malformed sid
    return Session.objects.filter(sid=sid, revoked_at__isnull=False).exists()


def _blacklist(tokens: QuerySet) -> int:
    rows = [BlacklistedToken(token=token) for token in tokens.filter(blacklistedtoken__isnull=True)]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _revoked_event(user_id, sid: uuid.UUID | None, revoked_before: datetime, reason: str, correlation_id):
    return make_envelope("auth.session.revoked", 1, {
        "user_id": str(user_id), "session_id": str(sid) if sid else None,
        "revoked_before": iso(revoked_before), "reason": reason,
    }, producer=PRODUCER, correlation_id=correlation_id)


def revoke(session: Session, *, reason: str, correlation_id: str | None = None) -> bool:
    """End one session; the caller holds its row lock (see ``locked``). False if it had ended."""
    assert reason in REASONS, reason
    if session.revoked_at is not None:
        return False
    now = timezone.now()
    session.revoked_at, session.revoke_reason = now, reason
    session.save(update_fields=["revoked_at", "revoke_reason"])
    _blacklist(OutstandingToken.objects.filter(session_link__session=session))
    # Tokens carry whole-second iat; this family never issues again, so the next whole
    # second bounds every token it ever issued.
    revoked_before = now.replace(microsecond=0) + timedelta(seconds=1)
    publish_on_commit(_revoked_event(session.user_id, session.sid, revoked_before, reason, correlation_id))
    return True


def revoke_all(user: User, *, reason: str, correlation_id: str | None = None) -> datetime:
    """End every session of the user, inside the caller's transaction; returns the
    ``revoked_before`` of the user-wide event.

    That event's bound is the current whole second, not the next: a session started right
    afterwards (a password change's fresh pair, a login just after a reset) has iat >= it
    and must not be caught. Tokens issued earlier in that same second would slip through,
    so each session that may still hold a live access token also gets its own event,
    bounded by the next second (its family never issues again)."""
    assert reason in REASONS, reason
    User.objects.select_for_update().filter(pk=user.pk).first()  # lock order: user first
    now = timezone.now()
    live = Session.objects.filter(user=user, revoked_at__isnull=True)
    recent = set(live.filter(
        tokens__token__created_at__gt=now - settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    ).values_list("sid", flat=True).distinct())
    live.update(revoked_at=now, revoke_reason=reason)
    # Every refresh token, with a session or from before sessions existed.
    _blacklist(OutstandingToken.objects.filter(user=user, expires_at__gt=now))
    revoked_before = now.replace(microsecond=0)
    publish_on_commit(_revoked_event(user.pk, None, revoked_before, reason, correlation_id))
    for sid in sorted(recent):
        publish_on_commit(_revoked_event(user.pk, sid, revoked_before + timedelta(seconds=1), reason, correlation_id))
    return revoked_before
