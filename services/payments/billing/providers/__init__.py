"""Provider adapters by name; PAYMENTS_PROVIDER picks the one new checkouts use."""
from __future__ import annotations

from django.conf import settings

from .base import Provider


def get_provider(name: str | None = None) -> Provider:
    name = name or settings.PAYMENTS_PROVIDER
    if name == "sandbox":
        from .sandbox import SandboxProvider
        return SandboxProvider()
    if name == "stripe":
        from .stripe import StripeProvider
        return StripeProvider()
    raise LookupError(f"unknown payment provider {name!r}")
