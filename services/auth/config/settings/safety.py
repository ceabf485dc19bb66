"""Pure checks on settings taken from the environment, kept apart from ``base.py`` so
they can be unit tested without importing (and configuring) Django settings."""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = ("development", "test", "production")
# Used only outside production, so a dev checkout runs without any setup; the marker
# words make sure it can never pass the production check below.
DEVELOPMENT_SECRET_KEY = "django-insecure-atelier-auth-development-only-key-change-me"
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARS = 5
_DEV_MARKERS = ("insecure", "change-me", "changeme", "development", "example", "secret-key", "dev-only")


def atelier_env(value: str | None) -> str:
    env = (value or "development").strip()
    if env not in ENVIRONMENTS:
        raise ImproperlyConfigured(f"ATELIER_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    return env


def secret_key(env: str, value: str | None) -> str:
    if env != "production":
        return value or DEVELOPMENT_SECRET_KEY
    if not value:
        raise ImproperlyConfigured("AUTH_SECRET_KEY must be set when ATELIER_ENV=production")
    lowered = value.lower()
    if (
        len(value) < MIN_SECRET_KEY_LENGTH
        or len(set(value)) < MIN_SECRET_KEY_UNIQUE_CHARS
        or any(marker in lowered for marker in _DEV_MARKERS)
    ):
        raise ImproperlyConfigured(
            f"AUTH_SECRET_KEY looks like a development default or is weak: use at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters in production"
        )
    return value


def private_key_file(env: str, value: str | None, development_default: str) -> tuple[str, bool]:
    """Return (path, may_generate). Only development and test may mint their own key,
    at the configured path or the default one; production must be given an existing file."""
    if env == "production":
        if not value:
            raise ImproperlyConfigured("AUTH_JWT_PRIVATE_KEY_FILE must be set when ATELIER_ENV=production")
        return value, False
    return value or development_default, True


def database_url(value: str | None) -> str:
    if not value:
        raise ImproperlyConfigured(
            "AUTH_DATABASE_URL is not set (postgresql://role:password@host:port/database); "
            "`make up` writes it to var/dev.env"
        )
    return value


MIN_SHARED_SECRET_LENGTH = 32


def shared_secret(env: str, name: str, value: str | None) -> str:
    """A secret shared with other services (internal token, API key pepper): a marked
    development value outside production, a strong one required in production."""
    if env != "production":
        return value or f"dev-only-{name.lower()}-change-me"
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when ATELIER_ENV=production")
    lowered = value.lower()
    if len(value) < MIN_SHARED_SECRET_LENGTH or any(marker in lowered for marker in _DEV_MARKERS):
        raise ImproperlyConfigured(
            f"{name} looks like a development default or is weak: use at least {MIN_SHARED_SECRET_LENGTH} random characters"
        )
    return value
