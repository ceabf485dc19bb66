"""The client's address as the gateway saw it.

The services listen on loopback and are reached through the gateway only, which drops any
X-Forwarded-For the client sent and sets its own with the one address it saw. It is
believed only when the request comes from a trusted proxy (loopback by default)."""
from __future__ import annotations

import ipaddress

from django.conf import settings

DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = getattr(settings, "ATELIER_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and remote in trusted:
        last = _ip(forwarded.split(",")[-1])
        if last:
            return last
    return _ip(remote) or "unknown"
