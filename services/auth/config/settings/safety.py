"""Auth's start-up checks. The rules (one list of development markers, minimum lengths,
DEBUG, ALLOWED_HOSTS) live in ``atelier_django.settings`` so auth and payments apply the
same ones; this module names auth's own secrets and its signing-key file."""
from __future__ import annotations

from atelier_django import settings as kit
from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = kit.ENVIRONMENTS
# Used only outside production, so a dev checkout runs without any setup; the marker
# words make sure it can never pass the production check.
DEVELOPMENT_SECRET_KEY = "django-insecure-atelier-auth-development-only-key-change-me"
MIN_SECRET_KEY_LENGTH = 50
MIN_SHARED_SECRET_LENGTH = kit.MIN_SECRET_LENGTH

atelier_env = kit.atelier_env


def secret_key(env: str, value: str | None) -> str:
    return kit.secret(env, "AUTH_SECRET_KEY", value, development_default=DEVELOPMENT_SECRET_KEY,
                      min_length=MIN_SECRET_KEY_LENGTH)


def shared_secret(env: str, name: str, value: str | None) -> str:
    """A secret shared with other services (internal token, API key pepper)."""
    return kit.secret(env, name, value, min_length=MIN_SHARED_SECRET_LENGTH)


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
