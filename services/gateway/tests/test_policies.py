"""Pure policy functions: client addresses, public paths, rate-limit rules, the OpenAPI merge,
revocation messages, and the Procfile's promise that only the gateway is public."""
from __future__ import annotations

import re
import shlex

import pytest

from app.apikeys import cache_key, looks_like_api_key
from app.config import REPO_ROOT
from app.openapi import merge
from atelier_kit.addresses import Networks, forwarded_client as client_address

from app.ratelimit import AUTH_RULES, RateLimiter
from app.revocations import key_id_of
from app.routing import is_public_path

TRUSTED = Networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize("peer, xff, expected", [
    ("8.8.8.8", "1.2.3.4", "8.8.8.8"),  # untrusted peer: its claim is ignored
    ("10.0.0.5", "1.2.3.4", "1.2.3.4"),
    ("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.9", "1.2.3.4"),  # rightmost address our proxies did not add
    ("10.0.0.5", None, "10.0.0.5"),
    ("10.0.0.5", "not-an-ip", "10.0.0.5"),
    ("10.0.0.5", "10.1.1.1", "10.1.1.1"),  # only proxies: the leftmost is the best we know
    (None, "1.2.3.4", None),
])
def test_client_address(peer, xff, expected):
    assert client_address(peer, xff, TRUSTED) == expected


def test_no_trusted_proxies_means_the_peer():
    assert client_address("127.0.0.1", "1.2.3.4", Networks([])) == "127.0.0.1"


@pytest.mark.parametrize("path, public", [
    ("/api/auth/me", True), ("/api/v1/jobs/abc/events", True),
    ("/internal/api-keys/introspect", False), ("/api/auth/internal/x", False),
    ("/api/auth/../internal", False), ("/api/v1/./jobs", False), ("/api/v1/a\\b", False),
])
def test_public_paths(path, public):
    assert is_public_path(path) is public


class _NoRedis:
    def register_script(self, source):
        return None


@pytest.mark.parametrize("method, path, rule", [
    ("POST", "/api/auth/token", "login"), ("POST", "/api/auth/token/refresh", "login"),
    ("POST", "/api/auth/signup", "signup"), ("POST", "/api/auth/password/reset", "password_reset"),
    ("POST", "/api/auth/password-reset/confirm", "password_reset"), ("GET", "/api/auth/api-keys", "api_keys"),
    ("DELETE", "/api/auth/api-keys/123", "api_keys"), ("GET", "/api/auth/me", None), ("GET", "/api/auth/token", None),
    ("POST", "/api/v1/jobs", None), ("POST", "/api/auth/tokens-of-appreciation", None),
])
def test_rate_limit_rules(method, path, rule):
    found = RateLimiter(_NoRedis(), prefix="p:", limit=1, window_s=1, rules=AUTH_RULES).rule_for(method, path)
    assert (found.name if found else None) == rule


def test_api_key_cache_key_hides_the_secret():
    secret = "atl_live_" + "x" * 40
    key = cache_key("run:", secret)
    assert key.startswith("run:apikey:") and "x" * 10 not in key
    assert looks_like_api_key(secret) and not looks_like_api_key("eyJhbGciOi")


def test_revocation_messages():
    assert key_id_of(b'{"data": {"key_id": "k1"}}') == "k1"
    for body in (b"nope", b"[]", b'{"data": {}}', b'{"data": {"key_id": 5}}', b'{"data": {"key_id": ""}}'):
        assert key_id_of(body) is None


def test_merge_tolerates_odd_documents():
    merged = merge({"auth": {"paths": {"/a": {"get": {"responses": {}}, "parameters": []}, "/b": "junk"}}}, ["payments"])
    assert merged["paths"]["/a"]["get"]["tags"] == ["auth"]
    assert merged["paths"]["/a"]["parameters"] == [] and "/b" not in merged["paths"]
    assert merged["x-atelier-missing"] == ["payments"] and merged["tags"] == [{"name": "auth", "x-service": "auth"}]


def _procfile() -> dict[str, str]:
    lines = (REPO_ROOT / "infra" / "local" / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_only_the_gateway_listens_beyond_loopback():
    processes = _procfile()
    assert "gateway" in processes
    for name, command in processes.items():
        words = shlex.split(command.replace("&&", " && "))
        binds = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-b", "--bind", "--host")]
        binds += [w.split("=", 1)[1] for w in words if w.startswith(("--bind=", "--host=", "-b="))]
        if name == "gateway":
            assert binds == ["$GATEWAY_HOST"], command
            # X-Forwarded-For is believed only from GATEWAY_TRUSTED_PROXIES, by the gateway itself.
            assert "--no-proxy-headers" in words
            continue
        for bind in binds:
            assert re.match(r"^127\.0\.0\.1(:|$)", bind), f"{name} binds {bind}"
        if any(w.endswith(("uvicorn", "gunicorn", "runserver")) for w in words):
            assert binds, f"{name} serves HTTP without an explicit loopback bind (servers default to all interfaces)"
