import pytest
from pydantic import ValidationError

from app.config import Settings, to_sqlalchemy_url

GOOD_KEY = "8f3b0c1e5a7d9f2b4c6e8a0d1f3b5c7e9a1c3e5f"


def test_database_url_uses_the_psycopg3_driver():
    assert to_sqlalchemy_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert to_sqlalchemy_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    with pytest.raises(ValueError):
        to_sqlalchemy_url("mysql://u@h/d")


def test_development_starts_with_defaults(monkeypatch):
    monkeypatch.delenv("ATELIER_STORAGE_SIGNING_KEY", raising=False)
    assert Settings(atelier_env="development").atelier_storage_signing_key


@pytest.mark.parametrize(
    "overrides,problem",
    [
        ({"pre_inference_database_url": ""}, "PRE_INFERENCE_DATABASE_URL"),
        ({"atelier_storage_signing_key": "short"}, "ATELIER_STORAGE_SIGNING_KEY"),
        ({"atelier_storage_signing_key": "dev-only-insecure-storage-signing-key"}, "ATELIER_STORAGE_SIGNING_KEY"),
        ({"atelier_amqp_url": "amqp://guest:guest@127.0.0.1:5672/atelier"}, "ATELIER_AMQP_URL"),
        # The platform's one guard (atelier_kit.guard): repetitive or purpose-named keys are refused too.
        ({"atelier_storage_signing_key": "a" * 40}, "ATELIER_STORAGE_SIGNING_KEY"),
        ({"atelier_storage_signing_key": "test-" + GOOD_KEY}, "ATELIER_STORAGE_SIGNING_KEY"),
        ({"atelier_amqp_url": "http://mq:5672/atelier"}, "ATELIER_AMQP_URL"),
        ({"pre_inference_webhook_secrets_key": "dev-only-pre-inference-webhook-secrets-key-0123456789"},
         "PRE_INFERENCE_WEBHOOK_SECRETS_KEY"),
        # Webhooks to loopback and private networks are for development and tests only.
        ({"pre_inference_webhooks_allow_private_targets": True}, "PRE_INFERENCE_WEBHOOKS_ALLOW_PRIVATE_TARGETS"),
    ],
)
def test_production_refuses_missing_or_default_secrets(overrides, problem):
    values = {
        "atelier_env": "production",
        "pre_inference_database_url": "postgresql://u:p@db/atelier",
        "atelier_storage_signing_key": GOOD_KEY,
        "atelier_amqp_url": "amqp://svc:s3cret@mq:5672/atelier",
        "pre_inference_webhook_secrets_key": GOOD_KEY[::-1],
        **overrides,
    }
    with pytest.raises(ValidationError, match=problem):
        Settings(**values)


def test_production_accepts_real_secrets():
    settings = Settings(
        atelier_env="production", pre_inference_database_url="postgresql://u:p@db/atelier",
        atelier_storage_signing_key=GOOD_KEY, atelier_amqp_url="amqp://svc:s3cret@mq:5672/atelier",
        pre_inference_webhook_secrets_key=GOOD_KEY[::-1],
    )
    assert settings.database_url.startswith("postgresql+psycopg://")


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PRE_INFERENCE_DATABASE_URL", "postgresql://env@h/d")
    monkeypatch.setenv("PRE_INFERENCE_JOB_DEADLINE_S", "120")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://env@h/d" and settings.pre_inference_job_deadline_s == 120


def test_the_development_signing_key_is_the_platform_one_the_gateway_shares():
    from atelier_kit.defaults import DEV_STORAGE_SIGNING_KEY

    assert Settings(atelier_env="development").atelier_storage_signing_key == DEV_STORAGE_SIGNING_KEY


def test_model_pools_map_models_to_pools():
    settings = Settings(atelier_env="development", pre_inference_model_pools=" flux.1-schnell=large, sdxl/base=mid ,")
    assert settings.model_pools == {"flux.1-schnell": "large", "sdxl/base": "mid"}
    assert Settings(atelier_env="development").model_pools == {}


@pytest.mark.parametrize("value", ["flux", "flux=", "=large", "flux=Large", "flux=dead", "flux=a b", "flux=a,flux=b",
                                   "../x=large", "flux=" + "a" * 33])
def test_bad_model_pools_refuse_to_start(value):
    with pytest.raises(ValidationError, match="PRE_INFERENCE_MODEL_POOLS"):
        Settings(atelier_env="development", pre_inference_model_pools=value)
