"""The gateway's internal exchange of an API key for a short-lived JWT."""
from datetime import timedelta

import pytest
from atelier_identity import TokenVerifier
from django.conf import settings
from django.utils import timezone

from accounts.models import Tier
from accounts.tests.factories import UserFactory
from apikeys.models import ApiKey
from apikeys.services import create_key, new_secret, rotate_key
from accounts.tests.helpers import error_code

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
PATH = "/internal/api-keys/introspect"


def introspect(client, key, token=None):
    headers = {"HTTP_X_INTERNAL_TOKEN": settings.ATELIER_INTERNAL_TOKEN if token is None else token}
    return client.post(PATH, {"key": key}, format="json", **headers)


def verify(client, access: str):
    verifier = TokenVerifier("http://unused.invalid/jwks.json")
    verifier.load_keys(client.get("/api/auth/.well-known/jwks.json").json())
    return verifier.verify(access)


@pytest.fixture
def partner():
    return UserFactory(email_verified=True, tier=Tier.PARTNER)


def test_a_valid_key_becomes_a_jwt_naming_key_owner_tier_scopes_and_limits(api_client, partner):
    issued = create_key(partner, name="shop", scopes=["jobs:write"])
    ApiKey.objects.filter(pk=issued.key.pk).update(limits={"requests_per_minute": 1200})
    response = introspect(api_client, issued.secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expires_in"] == 300 and body["key_id"] == str(issued.key.pk) and body["user_id"] == str(partner.pk)
    identity = verify(api_client, body["access"])
    claims = identity.claims
    assert identity.user_id == str(partner.pk) and identity.tier == "partner" and identity.verified is True
    assert claims["key_id"] == str(issued.key.pk) and claims["scopes"] == ["jobs:write"]
    assert claims["limits"] == {"requests_per_minute": 1200}
    assert claims["exp"] - claims["iat"] == 300
    assert ApiKey.objects.get(pk=issued.key.pk).last_used_at is not None


def test_key_tier_follows_the_owner_unless_staff_set_one(api_client):
    user = UserFactory(email_verified=True, tier=Tier.PRO)
    issued = create_key(user, name="k")
    claims = verify(api_client, introspect(api_client, issued.secret).json()["access"]).claims
    assert claims["tier"] == "pro" and "limits" not in claims
    ApiKey.objects.filter(pk=issued.key.pk).update(tier_override=Tier.PARTNER)
    assert verify(api_client, introspect(api_client, issued.secret).json()["access"]).tier == "partner"


def test_last_used_is_written_at_most_once_a_minute(api_client, partner):
    issued = create_key(partner, name="k")
    introspect(api_client, issued.secret)
    first = ApiKey.objects.get(pk=issued.key.pk).last_used_at
    introspect(api_client, issued.secret)
    assert ApiKey.objects.get(pk=issued.key.pk).last_used_at == first
    ApiKey.objects.filter(pk=issued.key.pk).update(last_used_at=first - timedelta(minutes=2))
    introspect(api_client, issued.secret)
    assert ApiKey.objects.get(pk=issued.key.pk).last_used_at > first


def test_revoked_expired_unknown_and_forged_keys_are_refused(api_client, partner):
    revoked = create_key(partner, name="r")
    ApiKey.objects.filter(pk=revoked.key.pk).update(revoked_at=timezone.now())
    assert error_code(introspect(api_client, revoked.secret), 401) == "api_key_revoked"

    expired = create_key(partner, name="e", expires_in_days=1)
    ApiKey.objects.filter(pk=expired.key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_code(introspect(api_client, expired.secret), 401) == "api_key_expired"

    assert error_code(introspect(api_client, new_secret()), 401) == "api_key_invalid"  # well-formed, unknown
    good = create_key(partner, name="g").secret
    forged = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert error_code(introspect(api_client, forged), 401) == "api_key_invalid"
    for malformed in ["", "atl_live_short", "atl_test_" + good[9:], good + "x", "x" * 256]:
        assert error_code(introspect(api_client, malformed), 401) == "api_key_invalid"


def test_a_rotated_key_works_during_its_grace_only(api_client, partner):
    old = create_key(partner, name="k")
    new = rotate_key(partner, old.key.pk, grace_seconds=60)
    assert introspect(api_client, old.secret).status_code == 200
    assert introspect(api_client, new.secret).status_code == 200
    ApiKey.objects.filter(pk=old.key.pk).update(revoked_at=timezone.now() - timedelta(seconds=1))
    assert error_code(introspect(api_client, old.secret), 401) == "api_key_revoked"


def test_a_deactivated_owner_makes_the_key_invalid(api_client, partner):
    issued = create_key(partner, name="k")
    partner.is_active = False
    partner.save()
    assert error_code(introspect(api_client, issued.secret), 401) == "api_key_invalid"


@pytest.mark.parametrize("token", ["", "wrong", settings.ATELIER_INTERNAL_TOKEN + "x", settings.ATELIER_INTERNAL_TOKEN[:-1]])
def test_the_internal_token_is_required(api_client, partner, token):
    issued = create_key(partner, name="k")
    assert error_code(introspect(api_client, issued.secret, token=token), 403) == "forbidden"


def test_without_the_internal_token_header_nothing_is_parsed(api_client):
    response = api_client.generic("POST", PATH, b"{", content_type="application/json")
    assert error_code(response, 403) == "forbidden"


def test_bad_bodies_with_the_internal_token(api_client):
    headers = {"HTTP_X_INTERNAL_TOKEN": settings.ATELIER_INTERNAL_TOKEN}
    assert error_code(api_client.generic("POST", PATH, b"{", content_type="application/json", **headers), 400) == "invalid_json"
    for body in [{}, {"key": 5}, {"key": "x", "extra": 1}, {"key": "x" * 5000}]:
        assert error_code(api_client.post(PATH, body, format="json", **headers), 400) == "validation_error"
    assert error_code(api_client.get(PATH, **headers), 405) == "method_not_allowed"


def test_a_keys_token_reads_the_profile_but_cannot_manage_the_account(api_client, partner):
    issued = create_key(partner, name="k")
    access = introspect(api_client, issued.secret).json()["access"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    assert api_client.get("/api/auth/me", **headers).json()["id"] == str(partner.pk)
    key_id = str(issued.key.pk)
    refused = [
        api_client.post("/api/auth/api-keys", {"name": "more"}, format="json", **headers),
        api_client.get("/api/auth/api-keys", **headers),
        api_client.delete(f"/api/auth/api-keys/{key_id}", **headers),
        api_client.post(f"/api/auth/api-keys/{key_id}/rotate", {}, format="json", **headers),
        api_client.delete("/api/auth/me", {"password": "x"}, format="json", **headers),
        api_client.post("/api/auth/password/change", {"old_password": "a", "new_password": "b"}, format="json", **headers),
        api_client.post("/api/auth/verify/resend", {}, format="json", **headers),
    ]
    assert [error_code(response, 403) for response in refused] == ["insufficient_scope"] * len(refused)
    assert ApiKey.objects.get(pk=issued.key.pk).revoked_at is None
