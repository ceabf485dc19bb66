"""Counting attempts in Redis (brute-force protection on login, reset and resend).

A fixed window per subject: one atomic Lua call increments the counter and starts its
expiry on the first hit, so concurrent requests can never leave a counter without a TTL.
Subjects are hashed into the key, so no address or e-mail sits in Redis in the clear.
If Redis is unreachable the check lets the request through (logged): refusing every
login because a cache is down would be worse than a short unprotected spell.
"""
from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass

import redis
from atelier_django.client_address import client_address  # noqa: F401 - the platform's one reading of X-Forwarded-For
from django.conf import settings
from rest_framework import status

from .errors import ApiError

log = logging.getLogger(__name__)

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class TooManyAttempts(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "rate_limited"  # the platform's one code for "slow down" (CONTRIBUTING.md)
    default_detail = "too many attempts; try again later"

    def __init__(self, wait: int):
        super().__init__(f"too many attempts; try again in {wait} seconds")
        self.wait = max(1, wait)


@functools.cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.ATELIER_REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_s: int

    def key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
        return f"{settings.ATELIER_REDIS_PREFIX}auth:attempts:{self.name}:{digest}"


def check(*pairs: tuple[Limit, str]) -> None:
    """Raise TooManyAttempts when any subject has used up its attempts."""
    try:
        pipe = _client().pipeline(transaction=False)
        for limit, subject in pairs:
            pipe.get(limit.key(subject))
            pipe.ttl(limit.key(subject))
        values = pipe.execute()
    except redis.RedisError as exc:
        log.error("attempt counters unavailable, not enforced: %s", exc)
        return
    for index, (limit, _) in enumerate(pairs):
        count, ttl = values[2 * index], values[2 * index + 1]
        if count is not None and int(count) >= limit.attempts:
            raise TooManyAttempts(int(ttl) if ttl and ttl > 0 else limit.window_s)


def hit(*pairs: tuple[Limit, str]) -> None:
    try:
        client = _client()
        for limit, subject in pairs:
            client.eval(_HIT, 1, limit.key(subject), limit.window_s)
    except redis.RedisError as exc:
        log.error("attempt counters unavailable, not counted: %s", exc)


def reset(limit: Limit, subject: str) -> None:
    try:
        _client().delete(limit.key(subject))
    except redis.RedisError as exc:
        log.error("attempt counter not reset: %s", exc)


def login_subjects(account: str, address: str) -> tuple[tuple[Limit, str], tuple[Limit, str]]:
    """What a password guess counts against: the account *from this address*, and the
    address across all accounts (looser; it stops spraying one password over many).

    Never the account alone: then anyone could lock a chosen person out with a few wrong
    passwords. Guessing from one address is slowed; the owner, elsewhere, still logs in.
    Returns (account-and-address, address); a success resets only the first.
    """
    # AUTH_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS when configured; the old per-account
    # budget otherwise, now spent per address.
    pair = getattr(settings, "AUTH_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", settings.AUTH_LOGIN_LIMIT_PER_ACCOUNT)
    return ((Limit("login-account-address", *pair), f"{account}\n{address}"),
            (Limit("login-address", *settings.AUTH_LOGIN_LIMIT_PER_ADDRESS), address))


def reset_limits():
    return (Limit("reset-account", *settings.AUTH_RESET_LIMIT_PER_ACCOUNT),
            Limit("reset-address", *settings.AUTH_RESET_LIMIT_PER_ADDRESS))


def resend_limit() -> Limit:
    return Limit("resend-account", *settings.AUTH_RESEND_LIMIT_PER_ACCOUNT)
