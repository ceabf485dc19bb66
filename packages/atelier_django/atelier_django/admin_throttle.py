"""Attempt limits on the Django admin login, by account *and* address together.

A guesser is slowed per (username, address) pair, so the owner logging in from their own
address is never locked out by someone else's failures; a looser cap per address stops
one address spraying many accounts. Counters live in the service's own database
(``LoginFailureCounter``), changed by one upsert per attempt, so concurrent guesses
cannot all pass a check before any is counted: an attempt is counted first, then judged,
and a successful login gives its count back.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.urls import reverse

from .client_address import client_address
from .errors import error_body
from .models import LoginFailureCounter


@dataclass(frozen=True)
class Limit:
    attempts: int
    window_s: int


DEFAULT_PER_ACCOUNT_AND_ADDRESS = Limit(5, 15 * 60)
DEFAULT_PER_ADDRESS = Limit(50, 15 * 60)


def _limit(name: str, default: Limit) -> Limit:
    value = getattr(settings, name, None)
    return Limit(*value) if value else default


def _key(*parts: str) -> str:
    # Hashed: usernames may be any bytes and any length; the key column is fixed.
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def pair_key(username: str, address: str) -> str:
    return _key("account+address", username.strip().lower(), address)


def address_key(address: str) -> str:
    return _key("address", address)


_TABLE = LoginFailureCounter._meta.db_table
_COUNT = f"""
INSERT INTO {_TABLE} AS c (key, failures, window_started) VALUES (%(key)s, 1, now())
ON CONFLICT (key) DO UPDATE SET
  failures = CASE WHEN c.window_started <= now() - make_interval(secs => %(window)s) THEN 1 ELSE c.failures + 1 END,
  window_started = CASE WHEN c.window_started <= now() - make_interval(secs => %(window)s)
                        THEN now() ELSE c.window_started END
RETURNING failures, EXTRACT(EPOCH FROM (window_started + make_interval(secs => %(window)s) - now()))
"""  # noqa: S608 - the table name is ours, values are parameters


def count_attempt(key: str, limit: Limit) -> tuple[int, int]:
    """(attempts in the current window including this one, seconds until the window ends)."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, {"key": key, "window": limit.window_s})
        failures, remaining = cursor.fetchone()
    return failures, max(1, math.ceil(float(remaining)))


def give_back(pair: str, address: str) -> None:
    """A successful login: the pair starts afresh and the address gets its attempt back."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE} WHERE key = %s", [pair])  # noqa: S608
        cursor.execute(f"UPDATE {_TABLE} SET failures = GREATEST(failures - 1, 0) WHERE key = %s", [address])  # noqa: S608


def refused(wait_s: int) -> JsonResponse:
    response = JsonResponse(error_body("rate_limited", f"too many failed logins; try again in {wait_s} seconds"),
                            status=429)
    response["Retry-After"] = str(wait_s)
    return response


class AdminLoginThrottleMiddleware:
    """Place after AuthenticationMiddleware. Only POSTs to the admin login view are counted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or request.path_info != reverse("admin:login"):
            return self.get_response(request)
        address = client_address(request)
        username = request.POST.get("username", "")[:512]
        pair, per_address = pair_key(username, address), address_key(address)
        pair_limit = _limit("ADMIN_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", DEFAULT_PER_ACCOUNT_AND_ADDRESS)
        address_limit = _limit("ADMIN_LOGIN_LIMIT_PER_ADDRESS", DEFAULT_PER_ADDRESS)
        pair_count, pair_wait = count_attempt(pair, pair_limit)
        address_count, address_wait = count_attempt(per_address, address_limit)
        if pair_count > pair_limit.attempts:
            return refused(pair_wait)
        if address_count > address_limit.attempts:
            return refused(address_wait)
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if response.status_code in (302, 303) and user is not None and user.is_authenticated:
            give_back(pair, per_address)
        return response
