"""Revoked sessions (auth.session.revoked v1): access tokens stop working within seconds of a
logout, a password change or reset, a reused refresh token or a staff action, instead of living
out their 15 minutes.

A token is revoked when its `iat` is before `revoked_before` and either the event names its
session (`sid`) or the event names no session (every session of the user). Both facts are kept
in Redis (shared by every gateway process) only as long as a token issued before them could
still be valid; a later event for the same key keeps the later `revoked_before`.

Tokens made from an API key carry no session; a key is revoked by its own event.
"""
from __future__ import annotations

from datetime import datetime, timezone

from atelier_identity import Identity


# KEYS: the revocation. ARGV: revoked_before (unix s), ttl s. Keeps the later of two revocations.
_RECORD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def session_key(prefix: str, session_id: str) -> str:
    return f"{prefix}revoked-session:{session_id}"


def user_key(prefix: str, user_id: str) -> str:
    return f"{prefix}revoked-user:{user_id}"


class MalformedRevocation(ValueError):
    pass


def _timestamp(value) -> float:
    if not isinstance(value, str):
        raise MalformedRevocation("revoked_before must be an RFC 3339 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedRevocation(f"revoked_before is not a date-time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class SessionRevoker:
    """Synchronous half, used by the revocation listener's thread."""

    def __init__(self, redis_sync, prefix: str, ttl_s: int):
        self.redis = redis_sync
        self.prefix = prefix
        self.ttl_s = ttl_s
        self._record = redis_sync.register_script(_RECORD)

    def record(self, data: dict) -> str:
        user_id, session_id = data.get("user_id"), data.get("session_id")
        if not isinstance(user_id, str) or not user_id:
            raise MalformedRevocation("user_id is missing")
        before = _timestamp(data.get("revoked_before"))
        if session_id is not None and (not isinstance(session_id, str) or not session_id):
            raise MalformedRevocation("session_id must be a string or null")
        key = session_key(self.prefix, session_id) if session_id else user_key(self.prefix, user_id)
        self._record(keys=[key], args=[repr(before), self.ttl_s])
        return key


async def is_revoked(redis, prefix: str, identity: Identity) -> bool:
    """True when a recorded revocation covers this token. Raises when Redis cannot answer."""
    if identity.api_key_id is not None:
        return False
    iat = identity.claims.get("iat")
    if not isinstance(iat, (int, float)):
        return False
    sid = identity.claims.get("sid")
    keys = [user_key(prefix, identity.user_id)]
    if isinstance(sid, str) and sid:
        keys.append(session_key(prefix, sid))
    for value in await redis.mget(keys):
        if value is not None and iat < float(value):
            return True
    return False
