"""Per-address limits on the auth routes (credential guessing, signup and reset-mail floods),
counted in Redis so every gateway process shares them.

A fixed window per (rule, address), incremented and given its expiry in one Lua call, so two
processes can never both see "one left". The address is the socket peer, or, when that peer
is a configured trusted proxy, the last address in X-Forwarded-For the proxies did not add.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from .errors import ApiError

logger = logging.getLogger("gateway.ratelimit")

# KEYS: counter. ARGV: window ms. Returns {count, ms left in the window}.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    methods: frozenset[str]

    def applies(self, method: str, path: str) -> bool:
        return method in self.methods and self.pattern.match(path) is not None


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Auth's public routes that cost it a password hash, send mail, or create credentials.
AUTH_RULES = (
    Rule("login", re.compile(r"^/api/auth/(token|login)(/|$)"), _WRITES),
    Rule("signup", re.compile(r"^/api/auth/(signup|register)(/|$)"), _WRITES),
    Rule("password_reset", re.compile(r"^/api/auth/password[-_/]"), _WRITES),
    Rule("verification", re.compile(r"^/api/auth/(verify|verification|email)[-_/]?"), _WRITES),
    Rule("api_keys", re.compile(r"^/api/auth/(api-keys|api_keys|keys)(/|$)"), _WRITES | {"GET"}),
)


class RateLimiter:
    def __init__(self, redis, *, prefix: str, limit: int, window_s: int, rules=AUTH_RULES):
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window_s = window_s
        self.rules = rules
        self._hit = redis.register_script(_HIT)

    def rule_for(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.applies(method, path):
                return rule
        return None

    async def check(self, method: str, path: str, address: str | None) -> dict[str, str] | None:
        """Count the request; raise 429 when over the limit. Returns headers for the response."""
        rule = self.rule_for(method, path)
        if rule is None or not address or self.limit <= 0:
            return None
        key = f"{self.prefix}ratelimit:{rule.name}:{address}"
        try:
            count, ttl_ms = await self._hit(keys=[key], args=[self.window_s * 1000])
        except Exception:  # noqa: BLE001 - failing open: a Redis outage must not lock everyone out of login
            logger.warning("rate limiter unavailable; letting %s through", rule.name, exc_info=True)
            return None
        reset_s = max(1, math.ceil(int(ttl_ms) / 1000))
        remaining = max(0, self.limit - int(count))
        headers = {
            "RateLimit-Policy": f"{self.limit};w={self.window_s}",
            "RateLimit": f"limit={self.limit}, remaining={remaining}, reset={reset_s}",
        }
        if int(count) > self.limit:
            raise RateLimited(reset_s, headers)
        return headers


class RateLimited(ApiError):
    def __init__(self, retry_after: int, headers: dict[str, str]):
        super().__init__(429, "rate_limited", f"too many attempts from your address; try again in {retry_after} s",
                         headers={**headers, "Retry-After": str(retry_after)}, extra={"retry_after": retry_after})
        self.retry_after = retry_after
