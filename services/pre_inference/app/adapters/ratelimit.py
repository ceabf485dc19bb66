"""Rate limits in Redis: GCRA (generic cell rate algorithm), weighted by cost, checked and
applied for several keys (the user and the API key) in one Lua script, so concurrent
requests on any number of API processes can never together pass a limit.

A limit of L units per minute means one unit every 60/L s with a burst of L units: the
stored value is the "theoretical arrival time" (TAT) per key, in ms.
"""
from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

WINDOW_MS = 60_000
# Every Redis call of the API is bounded by this, with asyncio.timeout around the call
# rather than the client's socket_timeout: that one wraps each socket read and write in
# asyncio.wait_for, which on Python 3.11 is a task of its own, so every command waited for
# extra turns of a busy event loop.
REDIS_TIMEOUT_S = 2.0

# KEYS: one per limit. ARGV: now_ms, then (limit, cost) per key.
# Returns {allowed(0/1), retry_after_ms, then (remaining, reset_ms) per key}.
_GCRA = """
local now = tonumber(ARGV[1])
local window = 60000
local allowed = 1
local retry = 0
local new_tats = {}
local out = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if limit <= 0 then
    allowed = 0
    retry = math.max(retry, window)
    new_tats[i] = tat
  else
    local interval = window / limit
    local new_tat = tat + cost * interval
    if new_tat - now > window then
      allowed = 0
      retry = math.max(retry, new_tat - now - window)
    end
    new_tats[i] = new_tat
  end
end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local final = tat
  if allowed == 1 then
    final = new_tats[i]
    redis.call('SET', key, tostring(final), 'PX', math.ceil(final - now) + 1000)
  end
  local remaining = 0
  if limit > 0 then remaining = math.floor((window - (final - now)) * limit / window) end
  table.insert(out, remaining)
  table.insert(out, math.ceil(final - now))
end
table.insert(out, 1, math.ceil(retry))
table.insert(out, 1, allowed)
return out
"""


# Gives back what _GCRA took (same KEYS and ARGV): the TAT moves back by the cost, and a
# key back at or before now is simply full again. Adding back is order-independent, so a
# refund is right however many other requests spent in between.
_REFUND = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if limit > 0 and tat > now then
    local back = tat - cost * (60000 / limit)
    if back <= now then
      redis.call('DEL', key)
    else
      redis.call('SET', key, tostring(back), 'PX', math.ceil(back - now) + 1000)
    end
  end
end
return 1
"""


@dataclass(frozen=True)
class Limit:
    name: str  # "user" or "key": the policy's name in the headers
    key: str  # the Redis key (already prefixed)
    per_minute: int


@dataclass(frozen=True)
class LimitState:
    name: str
    per_minute: int
    remaining: int
    reset_s: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int
    states: list[LimitState]

    def headers(self) -> dict[str, str]:
        """IETF draft-ietf-httpapi-ratelimit-headers (structured-field form)."""
        policy = ", ".join(f'"{s.name}";q={s.per_minute};w=60;qu="cost-units"' for s in self.states)
        current = ", ".join(f'"{s.name}";r={max(0, s.remaining)};t={s.reset_s}' for s in self.states)
        headers = {"RateLimit-Policy": policy, "RateLimit": current}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


class RateLimiter:
    def __init__(self, client: aioredis.Redis, prefix: str):
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA)
        self._refund = client.register_script(_REFUND)

    def user_key(self, user_id: object) -> str:
        return f"{self._prefix}rl:user:{user_id}"

    def api_key_key(self, key_id: object) -> str:
        return f"{self._prefix}rl:key:{key_id}"

    async def consume(self, limits: list[Limit], cost: float, *, now_ms: int | None = None) -> Decision:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        args: list[float | int] = [now_ms]
        for limit in limits:
            args += [limit.per_minute, cost]
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            raw = await self._script(keys=[l.key for l in limits], args=args)
        return _decision(limits, raw)

    async def refund(self, limits: list[Limit], cost: float, *, now_ms: int | None = None) -> None:
        """Gives back a cost that ``consume`` allowed, for a request refused after it."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        args: list[float | int] = [now_ms]
        for limit in limits:
            args += [limit.per_minute, cost]
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            await self._refund(keys=[l.key for l in limits], args=args)

    async def peek(self, limits: list[Limit], *, now_ms: int | None = None) -> Decision:
        """The current state without spending anything (for /usage)."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            values = await self._client.mget([l.key for l in limits]) if limits else []
        states = []
        for limit, value in zip(limits, values):
            tat = max(float(value or 0), now_ms)
            used_ms = tat - now_ms
            remaining = math.floor((WINDOW_MS - used_ms) * limit.per_minute / WINDOW_MS) if limit.per_minute > 0 else 0
            states.append(LimitState(limit.name, limit.per_minute, remaining, math.ceil(used_ms / 1000)))
        return Decision(True, 0, states)


def _decision(limits: list[Limit], raw: list[int]) -> Decision:
    allowed, retry_ms = int(raw[0]), int(raw[1])
    states = []
    for index, limit in enumerate(limits):
        remaining, reset_ms = int(raw[2 + 2 * index]), int(raw[3 + 2 * index])
        states.append(LimitState(limit.name, limit.per_minute, remaining, math.ceil(reset_ms / 1000)))
    # Retry-After is whole seconds, rounded up so the retry is never too early.
    return Decision(bool(allowed), max(1, math.ceil(retry_ms / 1000)) if not allowed else 0, states)


def make_redis(url: str) -> aioredis.Redis:
    # A stalled Redis must fail a request, not hang it: connecting is bounded here, each
    # call by REDIS_TIMEOUT_S where it is made (socket_timeout=None turns off the client's
    # own per-read and per-write wait_for, whose default is 5 s).
    return aioredis.from_url(url, socket_timeout=None, socket_connect_timeout=REDIS_TIMEOUT_S, health_check_interval=30)
