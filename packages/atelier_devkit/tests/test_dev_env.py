"""The development environment belongs to one checkout: two clones on one machine get their
own database, roles, vhost and Redis prefix, and removing var/ keeps the secrets that protect
the database (the signing keys are encrypted under AUTH_SECRET_KEY)."""
from __future__ import annotations

import shutil

import pytest

from atelier_devkit import platform


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _make_up_env(root):
    """What `python -m atelier_devkit.platform` does for a checkout at ``root``."""
    target = root / "var" / "dev.env"
    env = platform.dev_env(target, root=root)
    platform.write_env_file(target, env)
    platform.write_env_file(platform.state_file(root), env)
    return env


def test_two_checkouts_share_no_state(tmp_path):
    first = _make_up_env(tmp_path / "one")
    second = _make_up_env(tmp_path / "two")
    for name in ("ATELIER_DB_NAME", "ATELIER_DB_ROLE_PREFIX", "ATELIER_AMQP_URL", "ATELIER_REDIS_PREFIX",
                 "AUTH_DATABASE_URL", "AUTH_SECRET_KEY"):
        assert first[name] != second[name], name
    assert first["ATELIER_DB_NAME"] == f"atelier_{platform.checkout_id(tmp_path / 'one')}"


def test_a_second_run_and_git_clean_keep_the_secrets(tmp_path):
    root = tmp_path / "clone"
    first = _make_up_env(root)
    assert _make_up_env(root) == first
    shutil.rmtree(root / "var")  # what `git clean -fdx` does
    after_clean = _make_up_env(root)
    for name in ("AUTH_SECRET_KEY", "AUTH_DATABASE_URL", "PAYMENTS_DATABASE_URL", "ATELIER_DB_NAME",
                 "ATELIER_STORAGE_SIGNING_KEY", "AUTH_API_KEY_PEPPER"):
        assert after_clean[name] == first[name], name


def test_an_env_file_from_before_keeps_its_names(tmp_path):
    root = tmp_path / "old"
    (root / "var").mkdir(parents=True)
    (root / "var" / "dev.env").write_text(
        "ATELIER_DB_NAME=atelier\nATELIER_DB_ROLE_PREFIX=atelier\n"
        "ATELIER_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/atelier\nATELIER_REDIS_PREFIX=atelier:\n")
    env = platform.dev_env(root / "var" / "dev.env", root=root)
    assert env["ATELIER_DB_NAME"] == "atelier" and env["ATELIER_AMQP_URL"].endswith("/atelier")
    assert "@127.0.0.1:5432/atelier" in env["AUTH_DATABASE_URL"]
