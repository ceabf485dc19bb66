"""Encryption at rest of private signing keys.

The key-encryption key is derived (HKDF-SHA256, atelier_kit.secret_box) from AUTH_SECRET_KEY,
which every auth process already has and production already requires to be strong: no second
secret to distribute, and a database backup or replica does not reveal a usable signing key.
Changing AUTH_SECRET_KEY therefore needs the previous value in
AUTH_SECRET_KEY_FALLBACKS until a rotation has replaced the stored keys.
"""
from __future__ import annotations

from atelier_kit.secret_box import SecretBox, SecretUnreadable
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_INFO = b"atelier-auth signing-key encryption v1"


def _box() -> SecretBox:
    return SecretBox([settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])], info=_INFO)


def encrypt(plaintext: str) -> str:
    return _box().encrypt(plaintext)


class SigningKeyUnreadable(ImproperlyConfigured):
    """The database holds signing keys that this AUTH_SECRET_KEY cannot decrypt (a second
    checkout against the same database, or a changed secret without its fallback)."""


def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token)
    except SecretUnreadable as exc:
        raise SigningKeyUnreadable(
            "a stored signing key cannot be decrypted: AUTH_SECRET_KEY changed? "
            "put the previous value in AUTH_SECRET_KEY_FALLBACKS"
        ) from exc
