"""Gateway settings, all from environment variables.

With ATELIER_ENV=production the gateway refuses to start when a secret is missing or is
a development default: a forgeable signing key would let anyone read every stored image.
"""
from __future__ import annotations

from pathlib import Path

from atelier_kit import defaults
from atelier_kit.fastapi import AtelierSettings
from atelier_kit.guard import secret_problem, url_problem
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]
# The platform's one development signing key: pre_inference signs image URLs with the same one.
DEV_SIGNING_KEY = defaults.DEV_STORAGE_SIGNING_KEY


class Settings(AtelierSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    auth_url: str = defaults.DEV_AUTH_URL
    payments_url: str = defaults.DEV_PAYMENTS_URL
    pre_inference_url: str = defaults.DEV_PRE_INFERENCE_URL
    atelier_jwks_url: str = defaults.DEV_JWKS_URL
    # Seconds between JWKS refreshes triggered by unknown `kid`s; bounds what forged tokens cost auth.
    atelier_jwks_min_refresh_s: float = 10.0
    # Seconds between scheduled JWKS refreshes: retired keys stop being trusted within this time.
    atelier_jwks_refresh_s: float = 300.0

    atelier_storage_dir: Path = REPO_ROOT / defaults.DEV_STORAGE_DIR
    atelier_storage_signing_key: str = DEV_SIGNING_KEY
    # Upper bound for browser caching of a signed file; never beyond the link's own expiry.
    atelier_files_max_age_s: int = 3600

    atelier_redis_url: str = defaults.DEV_REDIS_URL
    # Every key the gateway writes starts with this (per-run in tests, so runs never collide).
    atelier_redis_prefix: str = defaults.DEV_REDIS_PREFIX
    atelier_amqp_url: str = defaults.DEV_AMQP_URL
    # Shared secret for auth's /internal/ routes (API-key introspection).
    atelier_internal_token: str = ""
    # Browser origins allowed to call the API cross-origin; empty means same-origin only (the SPA).
    atelier_cors_origins: str = ""
    # Proxies (IPs or CIDRs) in front of the gateway whose X-Forwarded-For is believed.
    gateway_trusted_proxies: str = ""
    # Per-address limits on the auth routes: requests per window. Unset: 10 in production, and
    # 300 elsewhere, where every test browser and script shares the one address 127.0.0.1.
    gateway_auth_rate_limit: int | None = None
    gateway_auth_rate_window_s: int = 60
    # An event stream that sends nothing (not even its 15 s keepalive) for this long is dead.
    gateway_sse_idle_s: float = 45.0
    gateway_openapi_cache_s: float = 30.0
    atelier_web_dist: Path = REPO_ROOT / "web_client" / "dist"

    # Connection-level limits of the one shared upstream client.
    gateway_upstream_connect_timeout_s: float = 3.0
    gateway_upstream_max_connections: int = 200
    # Below the upstreams' own keep-alive (uvicorn: 5 s), so we never send on a connection they close.
    gateway_upstream_keepalive_s: float = 4.0
    gateway_readiness_timeout_s: float = 2.0
    # Event streams have a pool of their own, so open streams can never starve ordinary requests.
    gateway_stream_max_connections: int = 1000
    # Open event streams per user and per API key, counted across gateway processes in Redis.
    gateway_streams_per_user: int = 8
    gateway_streams_per_key: int = 8
    # A stream's slot is a lease renewed while it carries data; a crashed process's slots lapse.
    gateway_stream_lease_s: float = 60.0
    # Ordinary requests one user may have in flight in one gateway process (0: no limit).
    gateway_user_max_in_flight: int = 32
    # Strict-Transport-Security: sent when the request came over https (directly, or per
    # X-Forwarded-Proto from a trusted proxy), or always when gateway_hsts_always is set
    # (production behind a TLS terminator that does not say the scheme).
    gateway_hsts_max_age_s: int = 31_536_000
    gateway_hsts_always: bool = False
    # Unknown or invalid API keys are remembered this long, so a flood of bogus keys costs auth nothing.
    gateway_apikey_negative_cache_s: int = 45
    # The compatible front doors (app/facades) answer once the images exist: the longest they
    # wait for a job before canceling it and answering a timeout in the client's error shape.
    gateway_facade_wait_s: float = 300.0
    # The gateway's public address: OpenAI's `url` response format gives absolute image links.
    atelier_public_url: str = "http://localhost:8000"
    # How long a session revocation is kept: the longest access-token lifetime (15 min) plus leeway.
    gateway_revocation_ttl_s: int = 16 * 60

    @field_validator("atelier_storage_dir", "atelier_web_dist")
    @classmethod
    def _relative_to_repo(cls, value: Path) -> Path:
        # The gateway runs from services/gateway; relative paths in .env files mean the repository root.
        return value if value.is_absolute() else REPO_ROOT / value

    @field_validator("atelier_storage_signing_key")
    @classmethod
    def _development_key_when_empty(cls, value: str) -> str:
        # An empty variable outside production means "the default"; production refuses it below.
        return value or DEV_SIGNING_KEY

    def production_problems(self) -> list[str | None]:
        return [
            secret_problem("ATELIER_STORAGE_SIGNING_KEY", self.atelier_storage_signing_key,
                           development_default=DEV_SIGNING_KEY),
            secret_problem("ATELIER_INTERNAL_TOKEN", self.atelier_internal_token),
            url_problem("ATELIER_AMQP_URL", self.atelier_amqp_url, schemes=("amqp", "amqps")),
            *(url_problem(name.upper(), getattr(self, name), schemes=("http", "https"))
              for name in ("auth_url", "payments_url", "pre_inference_url", "atelier_jwks_url")),
        ]

    def auth_rate_limit(self) -> int:
        if self.gateway_auth_rate_limit is not None:
            return self.gateway_auth_rate_limit
        return 10 if self.atelier_env == "production" else 300

    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.atelier_cors_origins.split(",") if o.strip()]

    def trusted_proxies(self) -> list[str]:
        return [p.strip() for p in self.gateway_trusted_proxies.split(",") if p.strip()]
