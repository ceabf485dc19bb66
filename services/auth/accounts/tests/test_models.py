"""Unit tests of the account models' pure logic (no database)."""
from datetime import timedelta

from django.utils import timezone

from accounts.models import EmailVerificationToken, hash_token, normalize_email


def test_emails_are_normalized_whole():
    assert normalize_email("  Mixed.Case@Example.COM ") == "mixed.case@example.com"


def test_verification_tokens_expire_and_are_single_use():
    now = timezone.now()
    token = EmailVerificationToken(expires_at=now + timedelta(hours=1))
    assert token.is_usable(now)
    assert not token.is_usable(now + timedelta(hours=2))
    token.used_at = now
    assert not token.is_usable(now)


def test_only_a_digest_of_the_token_is_kept():
    assert hash_token("abc") != "abc" and len(hash_token("abc")) == 64
