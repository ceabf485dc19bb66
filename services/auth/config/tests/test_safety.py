"""Unit tests of the start-up checks, plus one real start in production mode."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import safety
from signing.keys import generate_private_pem

SERVICE_DIR = Path(__file__).resolve().parents[2]
STRONG_KEY = "Zq8vN3x@L0p!r7Tt#kW2m9Yb$e4Hs6Gd^Jc1Fa5Ux%Ro8Ei3Qw-Ki7"
SHARED = {"ATELIER_INTERNAL_TOKEN": "Wm3kR8vQ2zL5xN9pT4bY7cH1fJ6dG0sAeU", "AUTH_API_KEY_PEPPER": "Pq7Lm2Xv9Nc4Rt8Kb1Zs6Hw3Jd5Fg0YaEo"}


def test_unknown_environment_is_refused():
    with pytest.raises(ImproperlyConfigured):
        safety.atelier_env("staging")
    assert safety.atelier_env(None) == "development"


@pytest.mark.parametrize("value", [None, "", "short", "x" * 80, safety.DEVELOPMENT_SECRET_KEY,
                                   "django-insecure-" + STRONG_KEY, STRONG_KEY + "-change-me"])
def test_production_refuses_weak_or_default_secret_keys(value):
    with pytest.raises(ImproperlyConfigured):
        safety.secret_key("production", value)


def test_production_accepts_a_strong_secret_key_and_development_has_a_default():
    assert safety.secret_key("production", STRONG_KEY) == STRONG_KEY
    assert safety.secret_key("development", None) == safety.DEVELOPMENT_SECRET_KEY


def test_private_key_file_is_required_in_production_only():
    with pytest.raises(ImproperlyConfigured):
        safety.private_key_file("production", None, "/dev/default")
    assert safety.private_key_file("production", "/k.pem", "/dev/default") == ("/k.pem", False)
    assert safety.private_key_file("development", None, "/dev/default") == ("/dev/default", True)
    assert safety.private_key_file("test", "/k.pem", "/dev/default") == ("/k.pem", True)


@pytest.mark.parametrize("value", [None, "", "short", "dev-only-atelier_internal_token-change-me" + "x" * 20])
def test_shared_secrets_are_required_and_strong_in_production(value):
    with pytest.raises(ImproperlyConfigured):
        safety.shared_secret("production", "ATELIER_INTERNAL_TOKEN", value)


def test_shared_secrets_have_marked_development_defaults():
    assert safety.shared_secret("production", "X", SHARED["AUTH_API_KEY_PEPPER"]) == SHARED["AUTH_API_KEY_PEPPER"]
    default = safety.shared_secret("development", "AUTH_API_KEY_PEPPER", None)
    with pytest.raises(ImproperlyConfigured):
        safety.shared_secret("production", "AUTH_API_KEY_PEPPER", default)


def _start(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "ATELIER_", "DJANGO_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.base",
                "AUTH_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", **env_overrides})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
        cwd=SERVICE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )


def test_production_start_refuses_defaults_and_accepts_real_secrets(tmp_path):
    refused = _start({"ATELIER_ENV": "production", "AUTH_DEBUG": "true"})
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "AUTH_SECRET_KEY" in refused.stderr

    no_key = _start({"ATELIER_ENV": "production", "AUTH_SECRET_KEY": STRONG_KEY})
    assert no_key.returncode != 0 and "AUTH_JWT_PRIVATE_KEY_FILE" in no_key.stderr

    no_internal = _start({"ATELIER_ENV": "production", "AUTH_SECRET_KEY": STRONG_KEY,
                          "AUTH_JWT_PRIVATE_KEY_FILE": str(tmp_path / "absent.pem")})
    assert no_internal.returncode != 0 and "ATELIER_INTERNAL_TOKEN" in no_internal.stderr

    missing_file = _start({"ATELIER_ENV": "production", "AUTH_SECRET_KEY": STRONG_KEY, **SHARED,
                           "AUTH_JWT_PRIVATE_KEY_FILE": str(tmp_path / "absent.pem")})
    assert missing_file.returncode != 0 and "does not exist" in missing_file.stderr
    assert not (tmp_path / "absent.pem").exists()  # production never mints its own key

    key_file = tmp_path / "key.pem"
    key_file.write_bytes(generate_private_pem())
    started = _start({"ATELIER_ENV": "production", "AUTH_SECRET_KEY": STRONG_KEY, "AUTH_DEBUG": "true", **SHARED,
                      "AUTH_JWT_PRIVATE_KEY_FILE": str(key_file)})
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "False"  # DEBUG can never be switched on in production
