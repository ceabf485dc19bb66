"""RS256 signing keys, their public JWK and ``kid`` (RFC 7638 thumbprint).

The keys in use live in the database (``signing.keyring``); the key of
AUTH_JWT_PRIVATE_KEY_FILE is imported as the first one. Outside production that file is
generated once, so a fresh checkout works; gunicorn workers racing to create it agree on
one file (see ``load_or_create_private_key``).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_BITS = 2048


def b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    required = {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode("ascii")


def rsa_public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    jwk = {"kty": "RSA", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}
    return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "RS256"}


@dataclass(frozen=True)
class SigningKey:
    private_pem: str
    public_pem: str
    kid: str
    public_jwk: dict[str, str]

    @classmethod
    def from_pem(cls, pem: bytes) -> "SigningKey":
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"the JWT signing key is not an unencrypted PEM private key: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
            raise ImproperlyConfigured(f"the JWT signing key must be RSA of at least {MIN_KEY_BITS} bits")
        public = key.public_key()
        public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        jwk = rsa_public_jwk(public)
        return cls(private_pem=pem.decode("ascii"), public_pem=public_pem.decode("ascii"), kid=jwk["kid"], public_jwk=jwk)


def generate_private_pem(bits: int = MIN_KEY_BITS) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_or_create_private_key(path: Path, *, may_generate: bool) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if not may_generate:
            raise ImproperlyConfigured(f"AUTH_JWT_PRIVATE_KEY_FILE {path} does not exist") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jwt-key-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(generate_private_pem())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process created the key first: use theirs
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_bytes()


@functools.cache
def file_key() -> SigningKey:
    """The key of AUTH_JWT_PRIVATE_KEY_FILE: the first key of a fresh database (see keyring)."""
    path = Path(settings.AUTH_JWT_PRIVATE_KEY_FILE)
    return SigningKey.from_pem(load_or_create_private_key(path, may_generate=settings.AUTH_JWT_GENERATE_KEY))


def current_key() -> SigningKey:
    from .keyring import keyring

    return keyring().current


def jwks() -> dict[str, list[dict[str, str]]]:
    from .keyring import keyring

    return {"keys": [key.public_jwk for key in keyring().published()]}
