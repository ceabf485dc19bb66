"""API keys: ``atl_live_`` + 40 url-safe characters, stored as HMAC-SHA256 with a
server-side pepper (AUTH_API_KEY_PEPPER) and a visible prefix (the first 12 characters)."""
from __future__ import annotations

import uuid

from atelier_identity.scopes import DEFAULT_KEY_SCOPES, SCOPE_NAMES
from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Tier

# The platform's one list (atelier_identity.scopes); kept under this name for auth's callers.
SCOPES = SCOPE_NAMES
DEFAULT_SCOPES = DEFAULT_KEY_SCOPES
# The keys of the auth.api_key.created schema's `limits` object, and their bounds.
LIMIT_BOUNDS = {
    "requests_per_minute": (0, 1_000_000),
    "images_per_day": (0, 100_000_000),
    "concurrency": (0, 1024),
    "max_width": (64, 8192),
    "max_height": (64, 8192),
    "max_steps": (1, 1000),
    "priority": (0, 10),
}


class ApiKey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    # Set only by staff in the admin, never copied from the owner: a key without one has
    # whatever tier its owner has at the moment it is used, so up- and downgrades reach it.
    tier_override = models.CharField(max_length=16, choices=Tier.choices, null=True, blank=True,
                                     help_text="staff only; empty = the owner's current tier")
    # Likewise staff-only: per-key overrides of the tier's limits.
    limits = models.JSONField(null=True, blank=True, help_text="staff only: per-key overrides of the tier's limits")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # May lie in the future: a rotated key keeps working until its grace period ends.
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"])]
        verbose_name = "API key"

    def effective_tier(self) -> str:
        """The tier the key acts with now: staff's override, else the owner's current tier."""
        return self.tier_override or self.user.tier

    def is_revoked(self, now=None) -> bool:
        return self.revoked_at is not None and self.revoked_at <= (now or timezone.now())

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
