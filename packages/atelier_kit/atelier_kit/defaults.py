"""Development values that several processes must agree on, defined once.

The gateway verifies the image URLs pre_inference signs: with two different development
signing keys (they once differed) every image link of a development checkout was refused.
Every value here is marked as a development one, so the production guard refuses it.
"""
from __future__ import annotations

DEV_STORAGE_SIGNING_KEY = "dev-only-insecure-storage-signing-key"
DEV_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/atelier"
DEV_REDIS_URL = "redis://127.0.0.1:6379/0"
DEV_REDIS_PREFIX = "atelier:"
DEV_JWKS_URL = "http://127.0.0.1:8101/api/auth/.well-known/jwks.json"
DEV_AUTH_URL = "http://127.0.0.1:8101"
DEV_PAYMENTS_URL = "http://127.0.0.1:8102"
DEV_PRE_INFERENCE_URL = "http://127.0.0.1:8103"
DEV_STORAGE_DIR = "var/storage"


def dev_secret(name: str) -> str:
    """The stand-in for an unset secret outside production; the guard refuses it by its markers."""
    return f"dev-only-{name.lower()}-change-me"
