"""People and their e-mail verification tokens."""
from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def normalize_email(email: str) -> str:
    # The whole address is lowercased (not only the domain as Django does): the login is
    # case-insensitive, and one spelling per account keeps events and lookups simple.
    return email.strip().lower()


class Tier(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    PARTNER = "partner", "Partner"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("e-mail address", max_length=254, unique=True)
    # The effective tier, what tokens carry (see tiers.services for how it is derived).
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.FREE)
    # Set by staff: wins over subscriptions until cleared.
    tier_override = models.CharField(max_length=16, choices=Tier.choices, null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    is_staff = models.BooleanField(default=False, help_text="Can log into this admin site.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-date_joined"]
        constraints = [
            # The application lowercases; this makes the database refuse any other path too.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    def __str__(self) -> str:
        return self.email


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class OneTimeToken(models.Model):
    """Single use and expiring; only the SHA-256 of the token is stored (the token has
    256 random bits, so a fast hash is enough and lookups by hash stay indexable)."""

    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and now < self.expires_at


class EmailVerificationToken(OneTimeToken):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verification_tokens")

    class Meta:
        verbose_name = "e-mail verification token"
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"verification for {self.user_id}"


class PasswordResetToken(OneTimeToken):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_reset_tokens")

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"password reset for {self.user_id}"


class AuditEntry(models.Model):
    """Append-only record of changes that matter (tiers, keys, deletions). Ids and e-mail
    addresses are copied, not linked, so the record outlives the accounts it names."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.UUIDField(null=True, blank=True, help_text="staff member; empty for the system")
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    target_email = models.CharField(max_length=254, blank=True)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.target_email} {self.old_value} -> {self.new_value}"


class OutgoingMail(models.Model):
    """One e-mail to send, written in the transaction that decided to send it and sent by
    the Celery task ``accounts.tasks.send_mail`` after commit. Its id makes sending
    idempotent: a retried or redelivered task finds ``sent_at`` set and sends nothing.
    The body (it carries one-time links) is blanked once the mail is out."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to_address = models.EmailField(max_length=254)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "outgoing mail"
        indexes = [models.Index(fields=["created_at"], name="accounts_outmail_pending_idx",
                                condition=models.Q(sent_at__isnull=True))]
