"""Signed webhooks, one scheme for every sender and receiver of the platform.

``Atelier-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (the scheme Stripe
uses): payments verifies its providers' events with it, pre_inference signs the job callbacks
it sends to partners. Several ``v1=`` values may appear (a sender signing with an old and a new
secret); one matching is enough. The timestamp bounds replays: a receiver refuses a signature
older (or newer) than its tolerance.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from .timestamps import parse_unix_timestamp

SIGNATURE_HEADER = "Atelier-Signature"
MAX_SIGNATURE_HEADER_BYTES = 2000
DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """``code`` is ``signature_invalid`` (forged, malformed, missing) or ``signature_expired``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``, signed now (or at ``timestamp``)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def header_bytes(value: str | bytes | None) -> bytes:
    """A header as the bytes that arrived. WSGI hands headers over as latin-1 text, so any
    byte survives the round trip; nothing here decodes them as anything else."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        # Not from a WSGI server; keep every character distinct (and non-ASCII) all the same.
        return value.encode("utf-8", "surrogatepass")


def verify(secret: str, body: bytes, header: str | bytes | None, *, tolerance_s: int = DEFAULT_TOLERANCE_S,
           now: float | None = None) -> int:
    """Checks the MAC first (so a forger learns nothing about timing), then freshness; returns
    the signed timestamp. The header is the sender's: it is handled as bytes, and anything
    unreadable (non-ASCII, a timestamp past year 9999, signs, garbage) is ``signature_invalid``,
    never an exception of another kind."""
    if not secret:
        raise SignatureError("signature_invalid", "no secret to verify with")
    raw = header_bytes(header)
    if not raw or len(raw) > MAX_SIGNATURE_HEADER_BYTES:
        raise SignatureError("signature_invalid", "missing signature header")
    timestamp, candidates = None, []
    for part in raw.split(b","):
        key, _, value = part.strip().partition(b"=")
        if key == b"t":
            try:
                timestamp = parse_unix_timestamp(value)
            except ValueError:
                raise SignatureError("signature_invalid", "malformed signature timestamp") from None
        elif key == b"v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("signature_invalid", "malformed signature header")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1].encode("ascii")
    # compare_digest on bytes: on str it raises TypeError for non-ASCII input.
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("signature_invalid", "signature does not match")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("signature_expired", "signature timestamp is outside the tolerance")
    return timestamp
