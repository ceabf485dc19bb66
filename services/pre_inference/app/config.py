"""Settings, all from environment variables (see .env.example).

With ATELIER_ENV=production the service refuses to start when a secret is missing or is
still a development default, so a forgotten variable cannot ship a guessable key.
"""
from __future__ import annotations

from functools import lru_cache

from atelier_kit import defaults
from atelier_kit.assignments import parse_assignments
from atelier_messaging.topology import valid_pool
from atelier_kit.fastapi import AtelierSettings
from atelier_kit.guard import secret_problem, url_problem
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

# One development signing key for the platform: the gateway verifies what this service signs.
DEV_SIGNING_KEY = defaults.DEV_STORAGE_SIGNING_KEY
DEV_AMQP_URL = defaults.DEV_AMQP_URL
DEFAULT_JWKS_URL = defaults.DEV_JWKS_URL
# Encrypts partners' webhook signing secrets at rest (app.adapters.webhooks_repo).
DEV_WEBHOOK_SECRETS_KEY = "dev-only-pre-inference-webhook-secrets-key-0123456789"


class Settings(AtelierSettings):
    # Field names are the environment variable names (case-insensitive), so the
    # mapping to CONTRIBUTING.md's table is one-to-one.
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    pre_inference_database_url: str = ""
    atelier_jwks_url: str = DEFAULT_JWKS_URL
    atelier_storage_signing_key: str = DEV_SIGNING_KEY
    atelier_amqp_url: str = DEV_AMQP_URL
    atelier_redis_url: str = defaults.DEV_REDIS_URL
    # Every Redis key this service writes starts with it (rate limits, job channels).
    atelier_redis_prefix: str = defaults.DEV_REDIS_PREFIX
    atelier_storage_dir: str = defaults.DEV_STORAGE_DIR
    # The tier policy (TOML); per-value overrides: PRE_INFERENCE_TIER_<TIER>_<FIELD>.
    pre_inference_tier_policy_file: str | None = None

    pre_inference_job_deadline_s: int = Field(default=600, ge=10, le=86_400)
    pre_inference_image_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 86_400)
    # Room for an init image and a mask as base64 data URLs (8 MiB decoded each at most).
    pre_inference_max_body_bytes: int = Field(default=24 * 1024 * 1024, ge=4096, le=32 * 1024 * 1024)
    pre_inference_upload_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    # A running job past this is failed with `timeout` by the sweeper.
    pre_inference_job_time_limit_s: int = Field(default=900, ge=10, le=86_400)
    pre_inference_sweep_interval_s: float = Field(default=5.0, gt=0, le=3600)
    # Unverified users may log in but not generate (403 email_unverified).
    pre_inference_require_verified_email: bool = True
    # Starvation guard (see README, "Priority"): while a lower-priority job has waited this
    # long, new higher-priority jobs are enqueued at its priority, behind it.
    pre_inference_starvation_after_s: int = Field(default=60, ge=1, le=86_400)
    # A model the catalogue knows but no live worker serves: refused (503 model_unavailable), or,
    # where workers scale to zero and are started by the queue (KEDA), admitted to wake one.
    pre_inference_admit_unserved_models: bool = False
    # Which worker pool serves a model while none of its workers runs (scaled to zero):
    # "model=pool,model=pool". A model that live workers serve goes to their pool regardless;
    # one named nowhere goes to the pool that served it last, else to "default".
    pre_inference_model_pools: str = ""
    pre_inference_sse_keepalive_s: float = Field(default=15.0, gt=0, le=300)
    # Event streams one user may hold open per API process (429 too_many_streams beyond).
    pre_inference_max_streams_per_user: int = Field(default=16, ge=1, le=1000)
    # Connections kept open for requests. Size it for the requests one process has in flight:
    # beyond it the pool opens overflow connections (up to half as many again) and closes each
    # on return, so a steady load above the pool size paid a Postgres connection (a backend
    # fork and its start-up) per request. At 10, 20 clients ran at ~100 accepted/s; at 20+,
    # ~140 (bench/README.md).
    pre_inference_db_pool_size: int = Field(default=24, ge=1, le=100)

    # Webhooks (job callbacks to partners; README, "Webhooks").
    # The key their signing secrets are encrypted under; the previous one, while rotating it,
    # in PRE_INFERENCE_WEBHOOK_SECRETS_KEY_FALLBACK until the stored secrets were rotated.
    pre_inference_webhook_secrets_key: str = DEV_WEBHOOK_SECRETS_KEY
    pre_inference_webhook_secrets_key_fallback: str = ""
    # Lets endpoints on loopback and private networks be registered and called: for
    # development and tests (a receiver on 127.0.0.1). Production refuses to start with it.
    pre_inference_webhooks_allow_private_targets: bool = False
    pre_inference_webhook_max_endpoints: int = Field(default=5, ge=1, le=100)
    # Attempts before a delivery is given up (the schedule is app.domain.webhooks.RETRY_DELAYS_S).
    pre_inference_webhook_max_attempts: int = Field(default=8, ge=1, le=12)
    pre_inference_webhook_connect_timeout_s: float = Field(default=5.0, gt=0, le=30)
    pre_inference_webhook_read_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # Deliveries one consumer process sends at once (each its own thread).
    pre_inference_webhook_concurrency: int = Field(default=4, ge=1, le=64)
    # How often the deliverer looks for due deliveries when the last look found none.
    pre_inference_webhook_poll_s: float = Field(default=1.0, gt=0, le=60)
    # The gateway's public address: image URLs in webhook payloads are absolute.
    atelier_public_url: str = "http://localhost:8000"

    @field_validator("pre_inference_model_pools")
    @classmethod
    def _model_pools(cls, value: str) -> str:
        parse_model_pools(value)  # refused at start, not at the first job
        return value

    @property
    def model_pools(self) -> dict[str, str]:
        return parse_model_pools(self.pre_inference_model_pools)

    def production_problems(self) -> list[str | None]:
        return [
            None if self.pre_inference_database_url else "PRE_INFERENCE_DATABASE_URL is not set",
            secret_problem("ATELIER_STORAGE_SIGNING_KEY", self.atelier_storage_signing_key,
                           development_default=DEV_SIGNING_KEY),
            url_problem("ATELIER_AMQP_URL", self.atelier_amqp_url, schemes=("amqp", "amqps")),
            secret_problem("PRE_INFERENCE_WEBHOOK_SECRETS_KEY", self.pre_inference_webhook_secrets_key,
                           development_default=DEV_WEBHOOK_SECRETS_KEY),
            ("PRE_INFERENCE_WEBHOOKS_ALLOW_PRIVATE_TARGETS must be off in production: it lets webhooks reach "
             "this network's own services" if self.pre_inference_webhooks_allow_private_targets else None),
        ]

    @property
    def webhook_secrets_keys(self) -> list[str]:
        """The key that encrypts, then the one that may still decrypt."""
        return [self.pre_inference_webhook_secrets_key, self.pre_inference_webhook_secrets_key_fallback]

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL for the psycopg 3 driver (sync and async share it)."""
        url = self.pre_inference_database_url
        if not url:
            raise RuntimeError("PRE_INFERENCE_DATABASE_URL is not set")
        return to_sqlalchemy_url(url)


def parse_model_pools(value: str) -> dict[str, str]:
    return parse_assignments(value, "PRE_INFERENCE_MODEL_POOLS", valid_value=valid_pool,
                             value_rule="a pool is lowercase letters, digits and '-' (at most 32), not dead or retry")


def to_sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError("PRE_INFERENCE_DATABASE_URL must be a postgresql:// URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
