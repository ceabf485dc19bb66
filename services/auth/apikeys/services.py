"""API key actions: create, revoke, rotate, and the gateway's introspection."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from atelier_contracts import make_envelope
from atelier_messaging.django import publish_on_commit
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions, status

from accounts import audit
from accounts.models import User
from accounts.services import PRODUCER, iso
from common.errors import ApiError

from .models import DEFAULT_SCOPES, ApiKey

SECRET_PREFIX = "atl_live_"
SECRET_PATTERN = re.compile(r"^atl_live_[A-Za-z0-9_-]{40}$")
VISIBLE_PREFIX_LENGTH = 12
LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyRejected(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "api_key_invalid"
    default_detail = "the API key is not valid"


class TooManyKeys(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "too_many_api_keys"
    default_detail = "revoke an API key before creating another"


class EmailUnverified(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "email_unverified"
    default_detail = "verify your e-mail address first"


def hash_secret(secret: str) -> str:
    return hmac.new(settings.AUTH_API_KEY_PEPPER.encode("utf-8"), secret.encode("utf-8"), hashlib.sha256).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(30)  # 30 bytes -> exactly 40 characters


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def _created_event(key: ApiKey, correlation_id: str | None):
    # v1 requires a tier: the key's tier as of now. It is no promise: the token from
    # introspection carries the tier of the moment of use (owner's current or staff's).
    return make_envelope("auth.api_key.created", 1, {
        "key_id": str(key.pk), "user_id": str(key.user_id), "prefix": key.prefix, "scopes": list(key.scopes),
        "tier": key.effective_tier(), "limits": key.limits or None,
        "expires_at": iso(key.expires_at) if key.expires_at else None, "created_at": iso(key.created_at),
    }, producer=PRODUCER, correlation_id=correlation_id)


def _revoked_event(key: ApiKey, correlation_id: str | None):
    return make_envelope("auth.api_key.revoked", 1, {
        "key_id": str(key.pk), "user_id": str(key.user_id), "revoked_at": iso(key.revoked_at),
    }, producer=PRODUCER, correlation_id=correlation_id)


def _insert(user: User, *, name: str, scopes, expires_at, tier_override=None, limits=None,
            correlation_id=None) -> IssuedKey:
    """``tier_override``/``limits`` are staff's settings of a key being rotated, never the owner's tier."""
    secret = new_secret()
    key = ApiKey.objects.create(
        user=user, name=name, prefix=secret[:VISIBLE_PREFIX_LENGTH], secret_hash=hash_secret(secret),
        scopes=list(scopes), expires_at=expires_at, tier_override=tier_override, limits=limits,
    )
    publish_on_commit(_created_event(key, correlation_id))
    return IssuedKey(key=key, secret=secret)


def create_key(user: User, *, name: str, scopes=None, expires_in_days: int | None = None,
               correlation_id: str | None = None) -> IssuedKey:
    if not user.email_verified:
        raise EmailUnverified()
    with transaction.atomic():
        # Locking the owner serialises their creates, so the cap cannot be raced past.
        User.objects.select_for_update().get(pk=user.pk)
        live = ApiKey.objects.filter(user=user).filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=timezone.now()))
        if live.count() >= settings.API_KEYS_PER_USER:
            raise TooManyKeys()
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        return _insert(user, name=name, scopes=scopes or DEFAULT_SCOPES, expires_at=expires_at, correlation_id=correlation_id)


def _owned(user: User, key_id) -> ApiKey:
    key = ApiKey.objects.select_for_update().filter(pk=key_id, user=user).first()
    if key is None:
        raise exceptions.NotFound("no such API key")  # another person's key is not ours to confirm
    return key


def _revoke(key: ApiKey, *, at=None, actor: User | None = None, correlation_id=None) -> bool:
    """Revoke (now or at ``at``) unless already revoked; the caller holds the row lock."""
    now = timezone.now()
    when = at or now
    if key.revoked_at is not None and key.revoked_at <= when:
        return False
    key.revoked_at = when
    key.save(update_fields=["revoked_at"])
    audit.record("api_key.revoked", target=key.user, actor=actor, old=key.prefix, new=iso(when))
    publish_on_commit(_revoked_event(key, correlation_id))
    return True


def revoke_key(user: User, key_id, *, correlation_id: str | None = None) -> ApiKey:
    with transaction.atomic():
        key = _owned(user, key_id)
        _revoke(key, actor=user, correlation_id=correlation_id)
        return key


def staff_revoke(key_ids, *, actor: User) -> int:
    with transaction.atomic():
        keys = ApiKey.objects.select_for_update().select_related("user").filter(pk__in=list(key_ids))
        return sum(_revoke(key, actor=actor) for key in keys)


def revoke_all_for_user(user: User, *, correlation_id: str | None = None) -> None:
    for key in ApiKey.objects.select_for_update().filter(user=user):
        _revoke(key, correlation_id=correlation_id)


def rotate_key(user: User, key_id, *, grace_seconds: int = 0, correlation_id: str | None = None) -> IssuedKey:
    """A new secret with the same settings; the old one stops after ``grace_seconds``."""
    with transaction.atomic():
        old = _owned(user, key_id)
        if old.is_revoked() or old.rotated_to_id is not None:
            raise exceptions.NotFound("this API key is revoked; create a new one")
        if old.is_expired():
            raise exceptions.NotFound("this API key has expired; create a new one")
        issued = _insert(user, name=old.name, scopes=old.scopes, expires_at=old.expires_at,
                         tier_override=old.tier_override, limits=old.limits, correlation_id=correlation_id)
        old.rotated_to = issued.key
        old.save(update_fields=["rotated_to"])
        _revoke(old, at=timezone.now() + timedelta(seconds=grace_seconds), actor=user, correlation_id=correlation_id)
        return issued


@dataclass(frozen=True)
class Introspection:
    access: str
    expires_in: int
    key: ApiKey


def introspect(secret: str) -> Introspection:
    from signing.tokens import AccessToken  # signing imports accounts; keep the graph one-way

    if not isinstance(secret, str) or not SECRET_PATTERN.match(secret):
        raise KeyRejected("the API key is malformed")
    digest = hash_secret(secret)
    key = ApiKey.objects.select_related("user").filter(secret_hash=digest).first()
    # The lookup is by a keyed hash; the comparison repeats it in constant time anyway.
    if key is None or not hmac.compare_digest(key.secret_hash, digest) or not key.user.is_active:
        raise KeyRejected()
    now = timezone.now()
    if key.is_revoked(now):
        raise KeyRejected("the API key has been revoked", code="api_key_revoked")
    if key.is_expired(now):
        raise KeyRejected("the API key has expired", code="api_key_expired")
    lifetime = settings.API_KEY_TOKEN_LIFETIME
    token = AccessToken()
    token.set_exp(from_time=token.current_time, lifetime=lifetime)
    token["sub"] = str(key.user_id)
    token.payload.update({
        "email": key.user.email, "tier": key.effective_tier(), "verified": True,
        "key_id": str(key.pk), "scopes": list(key.scopes),
    })
    if key.limits:
        token["limits"] = key.limits
    if key.tier_override:
        # Staff chose this key's tier: services that otherwise follow the owner's current tier
        # (pre_inference's account projection) must keep staff's choice.
        token["tier_override"] = key.tier_override
    # At most one write a minute per key, whatever the request rate.
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    return Introspection(access=str(token), expires_in=int(lifetime.total_seconds()), key=key)
