"""Signing keys in the database, so every process signs with the same current key and a
rotation reaches all of them without a redeploy."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


class StoredSigningKey(models.Model):
    kid = models.CharField(max_length=64, primary_key=True)
    public_pem = models.TextField()
    # Fernet token of the PKCS#8 PEM (see signing.crypto): a database dump alone is no key.
    private_pem_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(default=timezone.now)
    # Set when a newer key takes over; the key keeps verifying for a grace period after it.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-activated_at"]
        constraints = [
            # At most one key signs at a time, whatever two rotations racing would do.
            models.UniqueConstraint(
                fields=["retired_at"], condition=models.Q(retired_at__isnull=True), name="signing_one_current_key"
            ),
        ]

    def __str__(self) -> str:
        return self.kid


class Session(models.Model):
    """One login: the family of refresh tokens that rotation makes from it. Its id is the
    ``sid`` claim of every token of the family, so one revocation reaches all of them."""

    sid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_sessions")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return str(self.sid)


class SessionToken(models.Model):
    """The session of each refresh token (simplejwt's own table has no room for it)."""

    token = models.OneToOneField(OutstandingToken, on_delete=models.CASCADE, primary_key=True, related_name="session_link")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="tokens")
