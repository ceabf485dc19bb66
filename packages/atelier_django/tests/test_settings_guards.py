"""Unit: the production guards, DEBUG and ALLOWED_HOSTS helpers."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from atelier_django import settings as kit

STRONG = "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl"


def test_environment_is_one_of_three():
    assert kit.atelier_env(None) == "development"
    assert kit.atelier_env(" production ") == "production"
    with pytest.raises(ImproperlyConfigured, match="ATELIER_ENV"):
        kit.atelier_env("prod")


@pytest.mark.parametrize("value", [None, "", "short", "a" * 40, "django-insecure-" + STRONG,
                                   STRONG + "-change-me", "dev-only-" + STRONG])
def test_production_refuses_missing_weak_or_development_secrets(value):
    with pytest.raises(ImproperlyConfigured, match="X_SECRET"):
        kit.secret("production", "X_SECRET", value)


def test_production_refuses_the_development_default_itself():
    default = "Zq8" + STRONG
    with pytest.raises(ImproperlyConfigured):
        kit.secret("production", "X_SECRET", default, development_default=default)


def test_secrets_pass_in_production_and_default_elsewhere():
    assert kit.secret("production", "X_SECRET", STRONG) == STRONG
    assert kit.looks_like_development(kit.secret("development", "X_SECRET", None))
    assert kit.secret("test", "X_SECRET", None, development_default="dev-insecure-x") == "dev-insecure-x"


@pytest.mark.parametrize(("env", "value", "expected"), [
    ("development", None, False), ("development", "", False), ("development", "1", True),
    ("development", "true", True), ("test", "0", False), ("production", "1", False),
])
def test_debug_is_off_unless_set_by_hand_and_never_in_production(env, value, expected):
    assert kit.debug(env, value) is expected


def test_allowed_hosts_default_to_loopback_and_internal_names_never_star():
    assert kit.allowed_hosts(None, ["payments"]) == ["127.0.0.1", "localhost", "[::1]", "payments"]
    assert kit.allowed_hosts("a.example, b.example") == ["a.example", "b.example"]
    with pytest.raises(ImproperlyConfigured, match=r"\*"):
        kit.allowed_hosts("*")


def test_csrf_trusted_origins_default_to_the_public_address_and_the_development_gateway():
    from atelier_django.settings import csrf_trusted_origins

    assert csrf_trusted_origins(None, "https://atelier.example.com/app") == [
        "https://atelier.example.com", "http://localhost:8000", "http://127.0.0.1:8000"]
    assert csrf_trusted_origins("", "http://localhost:8000") == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert csrf_trusted_origins(" https://a.example , https://b.example ", "https://c.example") == [
        "https://a.example", "https://b.example"]
