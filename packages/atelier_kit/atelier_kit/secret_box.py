"""Secrets kept encrypted at rest that the service itself must read back (a key it signs with,
a partner's webhook secret), unlike passwords and API keys, which are only ever compared and
so are stored as hashes.

Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with HKDF-SHA256 from a setting the
process already guards as a production secret, with a purpose string (``info``) so one setting
can serve several stores without their ciphertexts being interchangeable. The first secret
encrypts; every one decrypts, so a changed secret keeps its predecessor as a fallback until the
stored values have been re-encrypted. auth keeps its signing keys in one (signing/crypto.py).
"""
from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretUnreadable(ValueError):
    """A stored value none of the configured secrets can decrypt (a changed secret without its
    fallback, another deployment's database)."""


def derive_fernet(secret: str, info: bytes) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(raw))


class SecretBox:
    def __init__(self, secrets: Sequence[str], *, info: bytes):
        usable = [secret for secret in secrets if secret]
        if not usable:
            raise ValueError("SecretBox needs at least one secret")
        self._cipher = MultiFernet([derive_fernet(secret, info) for secret in usable])

    def encrypt(self, plaintext: str) -> str:
        return self._cipher.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._cipher.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable("a stored secret cannot be decrypted with the configured key(s)") from exc
