"""Unit tests: the routing table and settings. No I/O."""
import pytest

from app.config import DEV_SIGNING_KEY, Settings
from app.routing import Route, RoutingTable, build_routing_table


@pytest.fixture
def table():
    return build_routing_table(Settings(
        auth_url="http://auth:1/", payments_url="http://pay:2", pre_inference_url="http://pre:3",
    ))


@pytest.mark.parametrize("path, name, upstream", [
    ("/api/auth/signup", "api_auth", "http://auth:1"),
    ("/api/auth/.well-known/jwks.json", "api_auth", "http://auth:1"),
    ("/api/auth", "api_auth", "http://auth:1"),
    ("/admin/auth/user/", "admin_auth", "http://auth:1"),
    ("/api/payments/plans", "api_payments", "http://pay:2"),
    ("/admin/payments/", "admin_payments", "http://pay:2"),
    ("/api/v1/jobs/123", "api_pre_inference", "http://pre:3"),
])
def test_prefixes_map_to_their_upstream(table, path, name, upstream):
    route = table.match(path)
    assert route is not None and route.name == name and route.upstream == upstream


@pytest.mark.parametrize("path", ["/api/authx", "/api/v10/jobs", "/api/v2/jobs", "/api", "/", "/files/a.png", "/admin"])
def test_lookalike_paths_do_not_match(table, path):
    assert table.match(path) is None


def test_only_the_job_api_requires_a_token_at_the_gateway(table):
    assert {r.name for r in table.routes if r.requires_token} == {"api_pre_inference"}


def test_body_limits_differ_per_route(table):
    assert table.match("/api/auth/token").max_body_bytes == 64 * 1024
    assert table.match("/api/v1/jobs").max_body_bytes == 24 * 1024 * 1024


def test_the_job_api_description_is_public_but_the_jobs_are_not(table):
    assert table.match("/api/v1/openapi.json").requires_token is False
    assert table.match("/api/v1/openapi.json/x").requires_token is False
    assert table.match("/api/v1/openapi.jsonx").requires_token is True
    assert table.match("/api/v1/jobs").requires_token is True


def test_the_tier_table_is_public_and_nothing_beside_it(table):
    assert table.match("/api/v1/tiers").requires_token is False
    assert table.match("/api/v1/tiers").max_body_bytes == 0
    assert table.match("/api/v1/tiersx").requires_token is True


def test_longest_prefix_wins():
    table = RoutingTable([
        Route("broad", "/api/v1/", "pre", "http://a", True, 60, 10),
        Route("events", "/api/v1/jobs/events/", "pre", "http://b", True, 600, 10),
    ])
    assert table.match("/api/v1/jobs/events/1").name == "events"
    assert table.match("/api/v1/jobs/1").name == "broad"


def test_prefix_must_be_slash_delimited():
    with pytest.raises(ValueError):
        RoutingTable([Route("bad", "/api/v1", "pre", "http://a", True, 1, 1)])


def test_upstreams_are_listed_once_per_service(table):
    assert table.upstreams() == {"auth": "http://auth:1", "payments": "http://pay:2", "pre_inference": "http://pre:3"}


# Random-looking values; "9f" * 32 passed the gateway's own guard before the platform's one
# (two distinct characters is no secret).
SIGNING_KEY = "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl"
INTERNAL_TOKEN = "Lr4Tq9Wm2Xv7Kc1Nb8Yh3Sd6Fj0Ug5Ae"
AMQP_URL = "amqp://gateway:Zp3x9Qm2@mq:5672/atelier"
PRODUCTION = {"atelier_env": "production", "atelier_storage_signing_key": SIGNING_KEY,
              "atelier_internal_token": INTERNAL_TOKEN, "atelier_amqp_url": AMQP_URL}


def test_production_refuses_the_development_signing_key():
    with pytest.raises(ValueError, match="ATELIER_STORAGE_SIGNING_KEY"):
        Settings(atelier_env="production", atelier_storage_signing_key=DEV_SIGNING_KEY)


@pytest.mark.parametrize("key", ["", "short", "changeme-changeme-changeme-changeme", "dev-" + "a" * 40, "9f" * 32,
                                 "dev-insecure-storage-signing-key", "dev-only-insecure-storage-signing-key"])
def test_production_refuses_weak_signing_keys(key):
    with pytest.raises(ValueError, match="ATELIER_STORAGE_SIGNING_KEY"):
        Settings(**{**PRODUCTION, "atelier_storage_signing_key": key})


def test_production_accepts_random_secrets():
    settings = Settings(**PRODUCTION)
    assert settings.atelier_env == "production"


@pytest.mark.parametrize("token", ["", "short", "dev-" + "a" * 40, "4b" * 32])
def test_production_refuses_a_missing_or_weak_internal_token(token):
    with pytest.raises(ValueError, match="ATELIER_INTERNAL_TOKEN"):
        Settings(**{**PRODUCTION, "atelier_internal_token": token})


@pytest.mark.parametrize(("name", "value"), [("atelier_amqp_url", "amqp://guest:guest@127.0.0.1:5672/atelier"),
                                             ("auth_url", "ftp://auth"), ("atelier_jwks_url", "auth/jwks.json")])
def test_production_refuses_development_credentials_and_non_http_upstreams(name, value):
    with pytest.raises(ValueError, match=name.upper()):
        Settings(**{**PRODUCTION, name: value})


def test_the_development_signing_key_is_the_one_pre_inference_signs_with():
    from atelier_kit.defaults import DEV_STORAGE_SIGNING_KEY

    assert Settings(atelier_env="development").atelier_storage_signing_key == DEV_STORAGE_SIGNING_KEY


def test_development_fills_in_an_empty_key_and_resolves_relative_paths():
    settings = Settings(atelier_env="development", atelier_storage_signing_key="", atelier_web_dist="web_client/dist")
    assert settings.atelier_storage_signing_key == DEV_SIGNING_KEY
    assert settings.atelier_web_dist.is_absolute() and settings.atelier_web_dist.parts[-2:] == ("web_client", "dist")


def test_auth_rate_limit_defaults_strict_in_production_only():
    production = Settings(**PRODUCTION)
    assert production.auth_rate_limit() == 10
    assert Settings(atelier_env="test").auth_rate_limit() == 300
    assert Settings(atelier_env="test", gateway_auth_rate_limit=3).auth_rate_limit() == 3
