"""Can this process sign tokens? Readiness asks this, not merely whether the database
answers: a process whose AUTH_SECRET_KEY cannot decrypt the stored signing keys is up,
reaches its database, and still cannot do its one job.

The probe loads the key ring afresh and signs and verifies a throwaway token with the
current key. Probes come every few seconds from every orchestrator, so the outcome is
kept for AUTH_READINESS_CACHE_SECONDS (default 5).
"""
from __future__ import annotations

import logging
import threading
import time

import jwt
from django.conf import settings

from .keyring import SigningUnavailable, keyring

log = logging.getLogger(__name__)

UNREADABLE = ("signing_key_unreadable: the stored signing keys cannot be decrypted with this AUTH_SECRET_KEY "
              "(another checkout's database? put the secret that made them in AUTH_SECRET_KEY_FALLBACKS)")

_lock = threading.Lock()
_last: tuple[float, str | None] | None = None


def signing_problem() -> str | None:
    """None when the current key signs; otherwise ``"<code>: <what to do>"``."""
    global _last
    ttl = getattr(settings, "AUTH_READINESS_CACHE_SECONDS", 5)
    with _lock:
        if _last is not None and time.monotonic() - _last[0] < ttl:
            return _last[1]
        problem = _probe()
        _last = (time.monotonic(), problem)
    if problem:
        log.warning("not ready: %s", problem)
    return problem


def _probe() -> str | None:
    try:
        key = keyring(refresh=True).current
    except SigningUnavailable:
        return UNREADABLE
    except StopIteration:
        return "signing_key_missing: no current signing key is stored"
    try:
        token = jwt.encode({"probe": True}, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
        jwt.decode(token, key.public_pem, algorithms=["RS256"])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        return f"signing_failed: the current signing key {key.kid} cannot sign: {exc}"
    return None
