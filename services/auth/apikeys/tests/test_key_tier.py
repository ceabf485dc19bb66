"""A key acts with its owner's tier of the moment (audit finding 2): up- and downgrades
reach existing keys at once; only what staff set on a key itself stays as staff set it."""
import re
import uuid
from datetime import timedelta

import pytest
from atelier_identity import TokenVerifier
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import outbox_events
from apikeys.models import ApiKey
from apikeys.services import create_key, rotate_key
from tiers import services as tiers

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ADMIN = "/admin/auth/"


def claims(client, secret: str) -> dict:
    response = client.post("/internal/api-keys/introspect", {"key": secret}, format="json",
                           HTTP_X_INTERNAL_TOKEN=settings.ATELIER_INTERNAL_TOKEN)
    assert response.status_code == 200, response.content
    verifier = TokenVerifier("http://unused.invalid/jwks.json")
    verifier.load_keys(client.get("/api/auth/.well-known/jwks.json").json())
    return verifier.verify(response.json()["access"]).claims


def upgrade(user, subscription_id, tier="pro"):
    now = timezone.now()
    tiers.subscription_activated({
        "subscription_id": str(subscription_id), "user_id": str(user.pk), "plan": f"{tier}-monthly", "tier": tier,
        "current_period_end": (now + timedelta(days=30)).isoformat(), "activated_at": now.isoformat(),
    }, now)


def downgrade(user, subscription_id):
    now = timezone.now()
    tiers.subscription_expired({"subscription_id": str(subscription_id), "user_id": str(user.pk),
                                "plan": "pro-monthly", "expired_at": now.isoformat()}, now)


def staff_sets(key: ApiKey, **fields):
    staff = UserFactory(is_staff=True, is_superuser=True, email_verified=True)
    client = Client()
    client.force_login(staff)
    page = client.get(f"{ADMIN}apikeys/apikey/{key.pk}/change/")
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    response = client.post(f"{ADMIN}apikeys/apikey/{key.pk}/change/",
                           {"name": key.name, "csrfmiddlewaretoken": csrf, **fields})
    assert response.status_code == 302, response.content


def test_a_keys_tier_follows_its_owner_up_and_down(api_client):
    owner, subscription = UserFactory(email_verified=True), uuid.uuid4()
    issued = create_key(owner, name="made while free")
    assert claims(api_client, issued.secret)["tier"] == "free"

    upgrade(owner, subscription)
    assert claims(api_client, issued.secret)["tier"] == "pro"
    assert ApiKey.objects.get(pk=issued.key.pk).tier_override is None  # nothing copied onto the key

    downgrade(owner, subscription)
    assert "limits" not in claims(api_client, issued.secret)
    assert claims(api_client, issued.secret)["tier"] == "free"


def test_a_key_made_while_pro_does_not_keep_pro_after_a_downgrade(api_client):
    owner, subscription = UserFactory(email_verified=True), uuid.uuid4()
    upgrade(owner, subscription)
    owner.refresh_from_db()
    issued = create_key(owner, name="made while pro")
    [event] = [e for e in outbox_events("auth.api_key.created") if e["data"]["key_id"] == str(issued.key.pk)]
    assert event["data"]["tier"] == "pro" and event["data"]["limits"] is None
    rotated = rotate_key(owner, issued.key.pk)  # a rotation copies staff settings only

    downgrade(owner, subscription)
    assert claims(api_client, rotated.secret)["tier"] == "free"
    assert ApiKey.objects.get(pk=rotated.key.pk).tier_override is None


def test_what_staff_set_on_a_key_stays_through_the_owners_changes_and_rotation(api_client):
    owner, subscription = UserFactory(email_verified=True), uuid.uuid4()
    issued = create_key(owner, name="partner integration")
    staff_sets(issued.key, tier_override="partner", limits='{"requests_per_minute": 1200}')

    upgrade(owner, subscription)
    downgrade(owner, subscription)
    seen = claims(api_client, issued.secret)
    assert seen["tier"] == "partner" and seen["limits"] == {"requests_per_minute": 1200}
    assert seen["tier_override"] == "partner"  # so services that follow the owner's tier keep staff's

    rotated = rotate_key(owner, issued.key.pk)
    seen = claims(api_client, rotated.secret)
    assert seen["tier"] == "partner" and seen["limits"] == {"requests_per_minute": 1200}

    staff_sets(rotated.key, tier_override="", limits="")  # staff clear it: the owner's tier again
    seen = claims(api_client, rotated.secret)
    assert seen["tier"] == "free" and "tier_override" not in seen
