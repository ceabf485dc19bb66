"""Settings helpers of the Django services. The production secret guard (one list of
development markers, one minimum length) is ``atelier_kit.guard``, shared with the FastAPI
services; here its refusals become ImproperlyConfigured, which stops the process before it
serves anything."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlsplit

from atelier_kit import guard
from atelier_kit.guard import (DEVELOPMENT_MARKERS, ENVIRONMENTS, MIN_SECRET_LENGTH, MIN_SECRET_UNIQUE_CHARS,
                               looks_like_development)
from django.core.exceptions import ImproperlyConfigured

__all__ = ["DEVELOPMENT_MARKERS", "ENVIRONMENTS", "LOOPBACK_HOSTS", "MIN_SECRET_LENGTH", "MIN_SECRET_UNIQUE_CHARS",
           "allowed_hosts", "atelier_env", "csrf_trusted_origins", "debug", "looks_like_development", "secret"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEV_GATEWAY_ORIGINS = ("http://localhost:8000", "http://127.0.0.1:8000")
_TRUE = ("1", "true", "yes", "on")


def _improperly_configured(function):
    """The kit's guard raises InsecureSetting; Django stops on ImproperlyConfigured."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except guard.InsecureSetting as exc:
            raise ImproperlyConfigured("; ".join(exc.problems)) from exc
    return wrapper


atelier_env = _improperly_configured(guard.atelier_env)
secret = _improperly_configured(guard.secret)


def debug(env: str, value: str | None) -> bool:
    """DEBUG renders tracebacks with local variables (secrets included): off unless a developer
    sets <SERVICE>_DEBUG=1 by hand, and never in production whatever is set."""
    if env == "production":
        return False
    return (value or "").strip().lower() in _TRUE


def allowed_hosts(value: str | None, internal_hosts: Iterable[str] = ()) -> list[str]:
    """Loopback plus the service's internal names unless configured (comma separated).
    '*' is refused: the Host header would then reach absolute URLs unchecked."""
    hosts = [host.strip() for host in (value or "").split(",") if host.strip()]
    if not hosts:
        hosts = [*LOOPBACK_HOSTS, *internal_hosts]
    if "*" in hosts:
        raise ImproperlyConfigured("ALLOWED_HOSTS may not contain '*'; list the host names the gateway uses")
    return hosts


def csrf_trusted_origins(value: str | None, public_url: str | None) -> list[str]:
    """The origins a browser may post the admin's forms from (comma separated), else the
    platform's public address and the development gateway. The gateway forwards the admins
    with the upstream Host, so the browser's Origin (the public address) never equals ours and
    must be trusted by name; without it an admin behind any other address refuses every login."""
    origins = [origin.strip() for origin in (value or "").split(",") if origin.strip()]
    if origins:
        return origins
    public = urlsplit(public_url or "")
    found = [f"{public.scheme}://{public.netloc}"] if public.scheme and public.netloc else []
    return list(dict.fromkeys([*found, *DEV_GATEWAY_ORIGINS]))
