"""Signed, expiring object URLs.

pre_inference signs (it knows who may see a job); the gateway verifies and streams the
object. The signature covers the key and the expiry, so neither can be altered.
URL form: ``/files/<key>?exp=<unix seconds>&sig=<hex HMAC-SHA256>``.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

FILES_PREFIX = "/files/"
DEFAULT_TTL_S = 3600


class SignatureError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _mac(secret: str, key: str, expires_at: int) -> str:
    # surrogatepass: a key decoded from a path may hold lone surrogates; it then simply fails to match.
    return hmac.new(secret.encode(), f"{key}\n{expires_at}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def sign_path(secret: str, key: str, *, ttl_s: int = DEFAULT_TTL_S, now: float | None = None) -> str:
    expires_at = int((now if now is not None else time.time()) + ttl_s)
    return f"{FILES_PREFIX}{quote(key)}?exp={expires_at}&sig={_mac(secret, key, expires_at)}"


def verify_signature(secret: str, key: str, exp: str | None, sig: str | None, *, now: float | None = None) -> None:
    if not exp or not sig:
        raise SignatureError("signature_missing", "this link needs exp and sig parameters")
    # ASCII only: int() takes other scripts' digits and compare_digest() raises on non-ASCII text.
    if not (exp.isascii() and exp.isdigit() and len(exp) <= 12):
        raise SignatureError("signature_invalid", "exp must be a unix time")
    expires_at = int(exp)
    if not (sig.isascii() and len(sig) == 64):
        raise SignatureError("signature_invalid", "the link's signature does not match")
    if not hmac.compare_digest(_mac(secret, key, expires_at), sig):
        raise SignatureError("signature_invalid", "the link's signature does not match")
    if expires_at < (now if now is not None else time.time()):
        raise SignatureError("link_expired", "this link has expired; reload the job for a fresh one")
