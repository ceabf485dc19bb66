"""Webhook signing secrets at rest: encrypted (the deliverer must read them back to sign)
under PRE_INFERENCE_WEBHOOK_SECRETS_KEY, its previous value still decrypting while set as
PRE_INFERENCE_WEBHOOK_SECRETS_KEY_FALLBACK."""
from __future__ import annotations

from atelier_kit.secret_box import SecretBox, SecretUnreadable

from app.config import Settings

__all__ = ["SecretUnreadable", "secret_box"]
# The purpose, bound into the key: these ciphertexts are useless to any other store.
SECRET_INFO = b"atelier pre_inference webhook secrets v1"


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(settings.webhook_secrets_keys, info=SECRET_INFO)
