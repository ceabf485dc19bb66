"""The client's address as the gateway saw it.

The services are reached through the gateway only, which drops any X-Forwarded-For the client
sent and sets its own with the one address it saw. It is believed only when the request comes
from a trusted proxy: ``ATELIER_TRUSTED_PROXIES``, addresses or networks (loopback by default;
in Kubernetes the pods' network, since gateway pods change address). The reading of the header
is atelier_kit.addresses', the gateway's own."""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from atelier_kit.addresses import Networks, forwarded_client
from django.conf import settings

DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> Networks:
    return Networks(entries)


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = _networks(tuple(getattr(settings, "ATELIER_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)))
    found = forwarded_client(remote, request.META.get("HTTP_X_FORWARDED_FOR", ""), trusted)
    return _ip(found or "") or "unknown"
