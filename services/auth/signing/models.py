"""Signing keys in the database, so every process signs with the same current key and a
rotation reaches all of them without a redeploy."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


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
