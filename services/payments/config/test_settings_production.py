"""Unit: production refuses to start on a weak secret key and never runs with DEBUG."""
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE = Path(__file__).parent / "settings" / "base.py"
GOOD_KEY = "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl"


def load(monkeypatch, **env):
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", "postgresql://role:pw@127.0.0.1:5432/atelier")
    for name in ("PAYMENTS_SECRET_KEY", "PAYMENTS_DEBUG", "PAYMENTS_SANDBOX_WEBHOOK_SECRET", "PAYMENTS_PROVIDER",
                 "PAYMENTS_STRIPE_API_KEY", "PAYMENTS_STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE))


@pytest.mark.parametrize(
    "key",
    [None, "", "short-but-random-8f2", "dev-insecure-payments-secret-key-change-me",
     "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"],
)
def test_production_refuses_missing_short_or_default_keys(monkeypatch, key):
    env = {"ATELIER_ENV": "production"}
    if key is not None:
        env["PAYMENTS_SECRET_KEY"] = key
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_SECRET_KEY"):
        load(monkeypatch, **env)


def test_production_with_a_real_key_starts_with_debug_off(monkeypatch):
    settings = load(monkeypatch, ATELIER_ENV="production", PAYMENTS_SECRET_KEY=GOOD_KEY, PAYMENTS_DEBUG="true",
                    PAYMENTS_SANDBOX_WEBHOOK_SECRET=GOOD_KEY[::-1])
    assert settings["SECRET_KEY"] == GOOD_KEY
    assert settings["DEBUG"] is False
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_development_falls_back_to_a_dev_key(monkeypatch):
    settings = load(monkeypatch, ATELIER_ENV="development")
    assert settings["SECRET_KEY"] == settings["DEV_SECRET_KEY"]
    assert settings["DEBUG"] is True


def test_missing_database_url_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ATELIER_ENV", "development")
    monkeypatch.delenv("PAYMENTS_DATABASE_URL", raising=False)
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_DATABASE_URL"):
        runpy.run_path(str(BASE))


def test_unknown_environment_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="ATELIER_ENV"):
        load(monkeypatch, ATELIER_ENV="prod")


@pytest.mark.parametrize("secret", [None, "short", "dev-insecure-sandbox-webhook-secret-padded-out-to-length"])
def test_production_refuses_a_weak_sandbox_webhook_secret(monkeypatch, secret):
    env = {"ATELIER_ENV": "production", "PAYMENTS_SECRET_KEY": GOOD_KEY}
    if secret is not None:
        env["PAYMENTS_SANDBOX_WEBHOOK_SECRET"] = secret
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_SANDBOX_WEBHOOK_SECRET"):
        load(monkeypatch, **env)


def test_production_stripe_needs_its_keys(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_STRIPE"):
        load(monkeypatch, ATELIER_ENV="production", PAYMENTS_SECRET_KEY=GOOD_KEY, PAYMENTS_PROVIDER="stripe")


def test_unknown_provider_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_PROVIDER"):
        load(monkeypatch, ATELIER_ENV="development", PAYMENTS_PROVIDER="paypal")
