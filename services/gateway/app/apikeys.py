"""API-key exchange: a partner's `atl_live_...` secret is traded at auth's introspection route
for a short-lived JWT, which is what the services downstream see (never the secret).

The JWT is cached in Redis under sha256(secret) until shortly before it expires, so a busy key
costs one introspection per few minutes. A second key indexes the entry by key_id, so the
revocation listener (revocations.py) can drop it without knowing the secret. A revocation also
leaves a tombstone for as long as a token could live, and the cache write refuses to land on a
tombstone: an introspection that was already in flight when the key was revoked cannot put the
key back in the cache.

A third key, the owner's set (`apikey-owner:<user_id>`), lists the cached entries of each user's
keys: when the user's tier changes their tokens carry the old tier, and `forget_owner` drops
them all (auth.user.tier_changed). Secrets auth refused are remembered for a short while
(`apikey-unknown:<sha256>`), so a flood of bogus keys costs auth one introspection each at most.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

import httpx

from .errors import ApiError

logger = logging.getLogger("gateway.apikeys")

API_KEY_PREFIX = "atl_live_"
# fullmatch, not match: "$" would also accept a trailing newline.
_KEY_SHAPE = re.compile(r"atl_live_[A-Za-z0-9_-]{40}")
EXPIRY_MARGIN_S = 30
# Longer than any token auth issues for a key (expires_in is 300 s), so a revoked key's
# in-flight introspection can never be cached after the revocation was handled.
TOMBSTONE_TTL_S = 3600
_KEY_ERRORS = {"api_key_invalid", "api_key_revoked", "api_key_expired"}

# KEYS: cache key, index key, tombstone, owner's set, owner's tier-change mark.
# ARGV: entry json, ttl ms, cache key (index value).
_STORE = """
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[4], ARGV[2]) end
return 1
"""
# KEYS: index key, tombstone. ARGV: tombstone ttl s. Deletes whatever entry the index names.
_REVOKE = """
local cached = redis.call('GET', KEYS[1])
if cached then redis.call('DEL', cached) end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
if cached then return 1 end
return 0
"""
# KEYS: owner's set, owner's tier-change mark. ARGV: mark ttl s. Deletes every cached exchange of
# the owner's keys (their tokens carry the old tier); the mark keeps an introspection that was
# already in flight from caching the old tier again.
_FORGET_OWNER = """
local entries = redis.call('SMEMBERS', KEYS[1])
for _, entry in ipairs(entries) do redis.call('DEL', entry) end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return #entries
"""
# An introspection takes at most the exchange timeout (5 s); the mark outlives it comfortably.
TIER_CHANGE_MARK_S = 30


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX)


def cache_key(prefix: str, secret: str) -> str:
    return f"{prefix}apikey:{hashlib.sha256(secret.encode()).hexdigest()}"


def index_key(prefix: str, key_id: str) -> str:
    return f"{prefix}apikey-id:{key_id}"


def tombstone_key(prefix: str, key_id: str) -> str:
    return f"{prefix}apikey-revoked:{key_id}"


def owner_key(prefix: str, user_id: str) -> str:
    return f"{prefix}apikey-owner:{user_id}"


def tier_changed_key(prefix: str, user_id: str) -> str:
    return f"{prefix}apikey-owner-changed:{user_id}"


def unknown_key(prefix: str, secret: str) -> str:
    """Negative cache: a secret auth refused, remembered briefly (the error code is the value)."""
    return f"{prefix}apikey-unknown:{hashlib.sha256(secret.encode()).hexdigest()}"


@dataclass(frozen=True)
class Exchanged:
    access: str
    key_id: str


def _unavailable() -> ApiError:
    return ApiError(503, "auth_unavailable", "API keys cannot be checked right now; try again shortly",
                    headers={"Retry-After": "5"})


def _refused(code: str | None) -> ApiError:
    code = code if code in _KEY_ERRORS else "api_key_invalid"
    message = {"api_key_revoked": "the API key has been revoked",
               "api_key_expired": "the API key has expired"}.get(code, "the API key is not valid")
    return ApiError(401, code, message, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{code}"'})


class ApiKeyExchange:
    def __init__(self, *, redis, http: httpx.AsyncClient, auth_url: str, internal_token: str, prefix: str,
                 timeout_s: float = 5.0, negative_ttl_s: int = 45):
        self.redis = redis
        self.http = http
        self.url = auth_url.rstrip("/") + "/internal/api-keys/introspect"
        self.internal_token = internal_token
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.negative_ttl_s = negative_ttl_s
        self._store = redis.register_script(_STORE)

    async def exchange(self, secret: str) -> Exchanged:
        if not _KEY_SHAPE.fullmatch(secret):
            # Not worth a round trip to auth: it cannot be a key auth issued.
            raise ApiError(401, "api_key_invalid", "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
        key = cache_key(self.prefix, secret)
        try:
            # The token and the negative entry in one round trip: a flood of wrong keys costs
            # Redis one read each, as a busy good key does.
            cached, refused_code = await self.redis.mget(key, unknown_key(self.prefix, secret))
        except Exception:  # noqa: BLE001 - a Redis outage costs an introspection, not the request
            logger.warning("API-key cache unavailable; introspecting", exc_info=True)
            cached = refused_code = None
        if cached:
            entry = json.loads(cached)
            return Exchanged(entry["access"], entry["key_id"])
        if refused_code:
            raise _refused(refused_code.decode() if isinstance(refused_code, bytes) else str(refused_code))
        try:
            data = await self._introspect(secret)
        except ApiError as exc:
            if exc.status == 401:
                await self._remember_bad(secret, exc.code)
            raise
        exchanged = Exchanged(data["access"], data["key_id"])
        owner = data.get("user_id") if isinstance(data.get("user_id"), str) else "unknown"
        ttl_s = int(data.get("expires_in", 0)) - EXPIRY_MARGIN_S
        if ttl_s > 0:
            try:
                await self._store(
                    keys=[key, index_key(self.prefix, exchanged.key_id), tombstone_key(self.prefix, exchanged.key_id),
                          owner_key(self.prefix, owner), tier_changed_key(self.prefix, owner)],
                    args=[json.dumps({"access": exchanged.access, "key_id": exchanged.key_id}), ttl_s * 1000, key],
                )
            except Exception:  # noqa: BLE001 - uncached is slower, not wrong
                logger.warning("could not cache an API-key token", exc_info=True)
        return exchanged

    async def _remember_bad(self, secret: str, code: str) -> None:
        if self.negative_ttl_s <= 0:
            return
        try:
            await self.redis.set(unknown_key(self.prefix, secret), code, ex=self.negative_ttl_s)
        except Exception:  # noqa: BLE001 - uncached is slower, not wrong
            logger.warning("could not remember a refused API key", exc_info=True)

    async def _introspect(self, secret: str) -> dict:
        try:
            response = await self.http.post(
                self.url, json={"key": secret}, timeout=self.timeout_s,
                headers={"X-Internal-Token": self.internal_token, "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            logger.warning("API-key introspection failed: %r", exc)
            raise _unavailable() from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 401:
            code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
            raise _refused(code)
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access"), str) \
                or not isinstance(body.get("key_id"), str):
            # 403 here means our internal token is wrong: an operator problem, not the caller's.
            logger.error("API-key introspection answered %s", response.status_code)
            raise _unavailable()
        return body


class Revoker:
    """Synchronous half used by the revocation listener's thread."""

    def __init__(self, redis_sync, prefix: str):
        self.redis = redis_sync
        self.prefix = prefix
        self._revoke = redis_sync.register_script(_REVOKE)
        self._forget_owner = redis_sync.register_script(_FORGET_OWNER)

    def revoke(self, key_id: str) -> bool:
        keys = [index_key(self.prefix, key_id), tombstone_key(self.prefix, key_id)]
        return bool(self._revoke(keys=keys, args=[TOMBSTONE_TTL_S]))

    def forget_owner(self, user_id: str) -> int:
        """Drop every cached exchange of the user's keys (their tokens carry the old tier)."""
        keys = [owner_key(self.prefix, user_id), tier_changed_key(self.prefix, user_id)]
        return int(self._forget_owner(keys=keys, args=[TIER_CHANGE_MARK_S]))
