"""Settings helpers every Django service uses, so the production guards cannot drift apart.

Pure functions of the values read from the environment; they raise ImproperlyConfigured,
which stops the process before it serves anything.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = ("development", "test", "production")
# One list: a value containing any of these was written for a development checkout.
DEVELOPMENT_MARKERS = ("insecure", "change-me", "changeme", "development", "example", "secret-key", "dev-only")
MIN_SECRET_LENGTH = 32
MIN_SECRET_UNIQUE_CHARS = 5
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_TRUE = ("1", "true", "yes", "on")


def atelier_env(value: str | None) -> str:
    env = (value or "development").strip()
    if env not in ENVIRONMENTS:
        raise ImproperlyConfigured(f"ATELIER_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    return env


def looks_like_development(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in DEVELOPMENT_MARKERS)


def secret(env: str, name: str, value: str | None, *, development_default: str | None = None,
           min_length: int = MIN_SECRET_LENGTH) -> str:
    """A secret (SECRET_KEY, a shared token, a webhook secret). Outside production an unset one
    falls back to a marked development value; production refuses missing, short, repetitive
    or development-looking ones."""
    if env != "production":
        return value or development_default or f"dev-only-{name.lower()}-change-me"
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when ATELIER_ENV=production")
    if (len(value) < min_length or len(set(value)) < MIN_SECRET_UNIQUE_CHARS or looks_like_development(value)
            or value == development_default):
        raise ImproperlyConfigured(
            f"{name} looks like a development default or is weak: use at least {min_length} random characters "
            f"in production")
    return value


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
