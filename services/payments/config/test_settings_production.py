"""Unit: production refuses to start on a weak secret key, on the sandbox provider unless
allowed explicitly, and never runs with DEBUG; DEBUG is off unless set by hand."""
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE = Path(__file__).parent / "settings" / "base.py"
GOOD_KEY = "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl-Mw7Tq2Hb9Ys4Kc"
SANDBOX_OK = {"PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION": "1"}


def load(monkeypatch, **env):
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", "postgresql://role:pw@127.0.0.1:5432/atelier")
    for name in ("PAYMENTS_SECRET_KEY", "PAYMENTS_DEBUG", "PAYMENTS_SANDBOX_WEBHOOK_SECRET", "PAYMENTS_PROVIDER",
                 "PAYMENTS_STRIPE_API_KEY", "PAYMENTS_STRIPE_WEBHOOK_SECRET", "PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION",
                 "PAYMENTS_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE))


@pytest.mark.parametrize(
    "key",
    [None, "", "short-but-random-8f2", "dev-insecure-payments-secret-key-change-me",
     "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz", "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl"],
)
def test_production_refuses_missing_short_or_default_keys(monkeypatch, key):
    env = {"ATELIER_ENV": "production"}
    if key is not None:
        env["PAYMENTS_SECRET_KEY"] = key
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_SECRET_KEY"):
        load(monkeypatch, **env)


def test_production_with_a_real_key_starts_with_debug_off(monkeypatch):
    settings = load(monkeypatch, ATELIER_ENV="production", PAYMENTS_SECRET_KEY=GOOD_KEY, PAYMENTS_DEBUG="true",
                    PAYMENTS_SANDBOX_WEBHOOK_SECRET=GOOD_KEY[::-1], **SANDBOX_OK)
    assert settings["SECRET_KEY"] == GOOD_KEY
    assert settings["DEBUG"] is False
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_development_falls_back_to_a_dev_key_with_debug_off(monkeypatch):
    # DEBUG used to default to True in development (what `make up` runs): debug pages
    # showed the webhook secret to anyone reaching the gateway.
    settings = load(monkeypatch, ATELIER_ENV="development")
    assert settings["SECRET_KEY"] == settings["DEV_SECRET_KEY"]
    assert settings["DEBUG"] is False


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_debug_only_when_set_by_hand(monkeypatch, value, expected):
    assert load(monkeypatch, ATELIER_ENV="development", PAYMENTS_DEBUG=value)["DEBUG"] is expected


def test_allowed_hosts_are_never_a_wildcard(monkeypatch):
    hosts = load(monkeypatch, ATELIER_ENV="development")["ALLOWED_HOSTS"]
    assert "*" not in hosts and "127.0.0.1" in hosts
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        load(monkeypatch, ATELIER_ENV="development", PAYMENTS_ALLOWED_HOSTS="*")


def test_production_refuses_the_sandbox_provider_unless_allowed_explicitly(monkeypatch):
    env = {"ATELIER_ENV": "production", "PAYMENTS_SECRET_KEY": GOOD_KEY, "PAYMENTS_SANDBOX_WEBHOOK_SECRET": GOOD_KEY[::-1]}
    with pytest.raises(ImproperlyConfigured, match="PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION=1"):
        load(monkeypatch, **env)
    assert load(monkeypatch, **env, **SANDBOX_OK)["PAYMENTS_PROVIDER"] == "sandbox"


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
    env = {"ATELIER_ENV": "production", "PAYMENTS_SECRET_KEY": GOOD_KEY, **SANDBOX_OK}
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
