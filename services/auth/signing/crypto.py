"""Encryption at rest of private signing keys.

The key-encryption key is derived (HKDF-SHA256) from AUTH_SECRET_KEY, which every auth
process already has and production already requires to be strong: no second secret to
distribute, and a database backup or replica does not reveal a usable signing key.
Changing AUTH_SECRET_KEY therefore needs the previous value in
AUTH_SECRET_KEY_FALLBACKS until a rotation has replaced the stored keys.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_INFO = b"atelier-auth signing-key encryption v1"


def _fernet(secret: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(raw))


def _cipher() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(secret) for secret in secrets])


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode("ascii")).decode("ascii")


class SigningKeyUnreadable(ImproperlyConfigured):
    """The database holds signing keys that this AUTH_SECRET_KEY cannot decrypt (a second
    checkout against the same database, or a changed secret without its fallback)."""


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SigningKeyUnreadable(
            "a stored signing key cannot be decrypted: AUTH_SECRET_KEY changed? "
            "put the previous value in AUTH_SECRET_KEY_FALLBACKS"
        ) from exc
