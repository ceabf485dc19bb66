"""The set of signing keys in use: one current key that signs, and retired keys that
still verify during their grace period.

Grace periods: a retired key is published in the JWKS (and accepted for access tokens)
for the access-token lifetime plus a margin, so every token it signed can run out
naturally. Refresh tokens are only ever read by auth itself, which checks them against
its own records as well; they stay valid under a retired key for their own lifetime, so a
rotation does not log everybody out.

Each process caches the ring for AUTH_SIGNING_KEYS_CACHE_SECONDS and reloads it at once
when it meets an unknown ``kid``.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from common.errors import ApiError

from . import crypto
from .keys import SigningKey, file_key, generate_private_pem
from .models import StoredSigningKey

log = logging.getLogger(__name__)


def access_grace() -> timedelta:
    return settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + settings.AUTH_SIGNING_KEY_GRACE_MARGIN


def refresh_grace() -> timedelta:
    return settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + settings.AUTH_SIGNING_KEY_GRACE_MARGIN


@dataclass(frozen=True)
class RingEntry:
    key: SigningKey
    retired_at: datetime | None


@dataclass
class KeyRing:
    entries: list[RingEntry]
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def current(self) -> SigningKey:
        return next(entry.key for entry in self.entries if entry.retired_at is None)

    def verifying(self, kid: str, *, token_type: str, now: datetime | None = None) -> SigningKey | None:
        now = now or timezone.now()
        grace = refresh_grace() if token_type == "refresh" else access_grace()
        for entry in self.entries:
            if entry.key.kid == kid and (entry.retired_at is None or now < entry.retired_at + grace):
                return entry.key
        return None

    def published(self, now: datetime | None = None) -> list[SigningKey]:
        """The current key and the previous ones still inside their access-token grace."""
        now = now or timezone.now()
        return [e.key for e in self.entries if e.retired_at is None or now < e.retired_at + access_grace()]


def _entry(row: StoredSigningKey) -> RingEntry:
    return RingEntry(key=SigningKey.from_pem(crypto.decrypt(row.private_pem_encrypted).encode("ascii")), retired_at=row.retired_at)


def _store(key: SigningKey) -> None:
    StoredSigningKey.objects.create(
        kid=key.kid, public_pem=key.public_pem, private_pem_encrypted=crypto.encrypt(key.private_pem)
    )


def ensure_initial_key() -> None:
    """A fresh database starts with the key of AUTH_JWT_PRIVATE_KEY_FILE."""
    if StoredSigningKey.objects.filter(retired_at__isnull=True).exists():
        return
    key = file_key()
    try:
        with transaction.atomic():
            if StoredSigningKey.objects.filter(kid=key.kid).exists():
                return  # imported before and rotated out since: never bring it back
            _store(key)
    except IntegrityError:
        pass  # another process imported it (or another current key) first


def load() -> KeyRing:
    ensure_initial_key()
    horizon = timezone.now() - max(access_grace(), refresh_grace())
    rows = StoredSigningKey.objects.filter(retired_at__isnull=True) | StoredSigningKey.objects.filter(
        retired_at__gt=horizon
    )
    return KeyRing(entries=[_entry(row) for row in rows.order_by("-activated_at")])


_lock = threading.Lock()
_cached: KeyRing | None = None


class SigningUnavailable(ApiError):
    """Tokens can be neither signed nor checked: a 503 the client may retry, not a 500."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "signing_unavailable"
    default_detail = "tokens cannot be issued right now; try again later"


def keyring(*, refresh: bool = False) -> KeyRing:
    global _cached
    with _lock:
        ttl = settings.AUTH_SIGNING_KEYS_CACHE_SECONDS
        if refresh or _cached is None or time.monotonic() - _cached.loaded_at >= ttl:
            try:
                _cached = load()
            except crypto.SigningKeyUnreadable as exc:
                # Logged in full (it names the fix); the client hears only that it may retry.
                log.error("signing keys unusable: %s", exc)
                raise SigningUnavailable() from exc
        return _cached


def find_verifying_key(kid: str, *, token_type: str) -> SigningKey | None:
    key = keyring().verifying(kid, token_type=token_type)
    if key is None and time.monotonic() - keyring().loaded_at > settings.AUTH_SIGNING_KEYS_MIN_RELOAD_SECONDS:
        key = keyring(refresh=True).verifying(kid, token_type=token_type)  # rotated by another process?
    return key


def rotate(bits: int = 2048) -> SigningKey:
    """Make a new key current and retire the previous one, in one transaction."""
    new = SigningKey.from_pem(generate_private_pem(bits))
    ensure_initial_key()
    with transaction.atomic():
        now = timezone.now()
        # The lock makes concurrent rotations take turns; the constraint backs it up.
        list(StoredSigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        StoredSigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
        _store(new)
    keyring(refresh=True)
    return new
