"""Caps on open event streams per user and per API key (finding 5), shared by every gateway
process through Redis.

Each open stream holds a lease: a member of one sorted set per owner (the user, and the API key
when the token came from one) scored with its expiry. Taking a slot first drops expired leases,
then checks every owner's count and adds the lease to all of them, in one Lua call, so two
processes can never both take the last slot. A live stream renews its lease as data passes
(the upstream sends a keepalive every 15 s); a process that dies without releasing leaves leases
that lapse on their own after `lease_s`. Redis time is used so process clocks need not agree.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

import anyio
from atelier_identity import Identity

from .errors import ApiError

logger = logging.getLogger("gateway.streams")

# KEYS: the owners' sets. ARGV: lease id, lease ms, then one cap per key.
# Returns 0 when granted, else the (1-based) index of the owner that is full.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[1])
  redis.call('PEXPIRE', key, lease)
end
return 0
"""
# KEYS: the owners' sets. ARGV: lease id, lease ms.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2])
end
return 1
"""
RETRY_AFTER_S = 5


@dataclass
class StreamLease:
    slots: "StreamSlots | None"
    keys: list[str]
    lease_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    renewed_at: float = field(default_factory=time.monotonic)

    async def renew_if_due(self) -> None:
        if self.slots is not None and time.monotonic() - self.renewed_at >= self.slots.lease_s / 3:
            self.renewed_at = time.monotonic()
            await self.slots.renew(self)

    async def release(self) -> None:
        if self.slots is None:
            return
        slots, self.slots = self.slots, None
        # Shielded: a stream usually ends because its client went away, i.e. inside a cancelled scope.
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):
            await slots.release(self)


class StreamSlots:
    def __init__(self, redis, *, prefix: str, per_user: int, per_key: int, lease_s: float):
        self.redis = redis
        self.prefix = prefix
        self.per_user = per_user
        self.per_key = per_key
        self.lease_s = lease_s
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)

    def _owners(self, identity: Identity) -> list[tuple[str, int]]:
        owners = []
        if self.per_user > 0:
            owners.append((f"{self.prefix}streams:user:{identity.user_id}", self.per_user))
        if identity.api_key_id and self.per_key > 0:
            owners.append((f"{self.prefix}streams:key:{identity.api_key_id}", self.per_key))
        return owners

    async def acquire(self, identity: Identity) -> StreamLease:
        """A lease for one more stream, or 429 too_many_streams."""
        owners = self._owners(identity)
        if not owners:
            return StreamLease(None, [])
        lease = StreamLease(self, [key for key, _ in owners])
        try:
            full = int(await self._acquire(keys=lease.keys, args=[lease.lease_id, int(self.lease_s * 1000),
                                                                  *[cap for _, cap in owners]]))
        except Exception:  # noqa: BLE001 - failing open: a Redis outage must not end every live view
            logger.warning("stream slots unavailable; not counting this stream", exc_info=True)
            return StreamLease(None, [])
        if full:
            which = "API key" if owners[full - 1][0].startswith(f"{self.prefix}streams:key:") else "account"
            cap = owners[full - 1][1]
            raise ApiError(429, "too_many_streams",
                           f"this {which} already has {cap} event streams open; close one first",
                           headers={"Retry-After": str(RETRY_AFTER_S)}, extra={"limit": cap})
        return lease

    async def renew(self, lease: StreamLease) -> None:
        try:
            await self._renew(keys=lease.keys, args=[lease.lease_id, int(self.lease_s * 1000)])
        except Exception:  # noqa: BLE001 - the lease simply lapses; the stream goes on
            logger.warning("could not renew a stream lease", exc_info=True)

    async def release(self, lease: StreamLease) -> None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in lease.keys:
                pipe.zrem(key, lease.lease_id)
            await pipe.execute()
        except Exception:  # noqa: BLE001 - it lapses by itself after lease_s
            logger.warning("could not release a stream lease", exc_info=True)
