"""API keys over HTTP: owner-only management, the secret shown once, rotation, events."""
from datetime import timedelta

import pytest
from atelier_identity.scopes import DEFAULT_KEY_SCOPES, SCOPE_NAMES
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, error_code, login, outbox_events
from apikeys.models import ApiKey
from apikeys.services import SECRET_PATTERN, hash_secret

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def owner(api_client):
    user = UserFactory(email_verified=True)
    api_client.credentials(**bearer(login(api_client, user.email)["access"]))
    return user


def create(client, **body):
    return client.post("/api/auth/api-keys", {"name": "ci", **body}, format="json")


def test_create_shows_the_secret_once_and_stores_only_its_hash(api_client, owner):
    response = create(api_client, scopes=["jobs:read", "jobs:write", "jobs:read"], expires_in_days=30)
    assert response.status_code == 201, response.content
    body = response.json()
    assert SECRET_PATTERN.match(body["secret"]) and len(body["secret"]) == 49
    assert body["prefix"] == body["secret"][:12]
    assert body["scopes"] == ["jobs:write", "jobs:read"] and body["tier"] == "free"
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(pk=body["id"])
    assert key.secret_hash == hash_secret(body["secret"]) and body["secret"] not in str(key.__dict__)
    assert timedelta(days=29) < key.expires_at - timezone.now() <= timedelta(days=30)

    listed = api_client.get("/api/auth/api-keys").json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0] and set(listed[0]) >= {"prefix", "name", "scopes", "created_at", "last_used_at",
                                                            "expires_at", "revoked_at"}
    [event] = outbox_events("auth.api_key.created")
    assert event["data"]["key_id"] == body["id"] and event["data"]["prefix"] == body["prefix"]


def test_default_scopes_are_the_platform_defaults(api_client, owner):
    assert create(api_client).json()["scopes"] == list(DEFAULT_KEY_SCOPES)


def test_every_scope_of_the_platform_list_can_be_chosen(api_client, owner):
    response = create(api_client, scopes=list(reversed(SCOPE_NAMES)))
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == list(SCOPE_NAMES)


def test_unverified_accounts_cannot_create_keys(api_client):
    user = UserFactory()
    api_client.credentials(**bearer(login(api_client, user.email)["access"]))
    assert error_code(create(api_client), 403) == "email_unverified"


def test_only_the_owner_sees_revokes_or_rotates_a_key(api_client, owner):
    key_id = create(api_client).json()["id"]
    stranger = UserFactory(email_verified=True)
    api_client.credentials(**bearer(login(api_client, stranger.email)["access"]))
    assert api_client.get("/api/auth/api-keys").json()["items"] == []
    assert error_code(api_client.delete(f"/api/auth/api-keys/{key_id}"), 404) == "not_found"
    assert error_code(api_client.post(f"/api/auth/api-keys/{key_id}/rotate", {}, format="json"), 404) == "not_found"
    assert ApiKey.objects.get(pk=key_id).revoked_at is None


def test_revoke_is_idempotent_and_publishes_once(api_client, owner):
    key_id = create(api_client).json()["id"]
    assert api_client.delete(f"/api/auth/api-keys/{key_id}").status_code == 204
    assert api_client.delete(f"/api/auth/api-keys/{key_id}").status_code == 204
    assert ApiKey.objects.get(pk=key_id).revoked_at is not None
    assert len(outbox_events("auth.api_key.revoked")) == 1


def test_rotate_gives_a_new_secret_and_ends_the_old_one_after_the_grace(api_client, owner):
    old = create(api_client, scopes=["images:read"]).json()
    response = api_client.post(f"/api/auth/api-keys/{old['id']}/rotate", {"grace_seconds": 600}, format="json")
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["secret"] != old["secret"] and new["scopes"] == ["images:read"]
    old_row = ApiKey.objects.get(pk=old["id"])
    assert timedelta(seconds=590) < old_row.revoked_at - timezone.now() <= timedelta(seconds=600)
    assert not old_row.is_revoked() and old_row.rotated_to_id is not None
    # rotating the same key again is refused: it has a successor already
    again = api_client.post(f"/api/auth/api-keys/{old['id']}/rotate", format="json")
    assert error_code(again, 404) == "not_found"

    immediate = api_client.post(f"/api/auth/api-keys/{new['id']}/rotate", format="json")
    assert immediate.status_code == 201
    assert ApiKey.objects.get(pk=new["id"]).is_revoked()


def test_key_count_is_capped(api_client, owner, settings):
    settings.API_KEYS_PER_USER = 2
    assert create(api_client).status_code == 201 and create(api_client).status_code == 201
    assert error_code(create(api_client), 409) == "too_many_api_keys"


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "a", "scopes": ["admin"]}, "scopes.0"),
    ({"name": "a", "scopes": []}, "scopes"),
    ({"name": "a", "scopes": "jobs:read"}, "scopes"),
    ({"name": "a", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "a", "expires_in_days": "7"}, "expires_in_days"),
    ({"name": "a", "expires_in_days": True}, "expires_in_days"),
    ({"name": "a", "expires_in_days": 99999}, "expires_in_days"),
    ({"name": "a", "tier": "partner"}, "tier"),
])
def test_bad_create_bodies(api_client, owner, body, field):
    response = api_client.post("/api/auth/api-keys", body, format="json")
    assert error_code(response, 400) == "validation_error"
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("body", [{"grace_seconds": -1}, {"grace_seconds": "5"}, {"grace_seconds": 10**9}, {"x": 1}])
def test_bad_rotate_bodies(api_client, owner, body):
    key_id = create(api_client).json()["id"]
    assert error_code(api_client.post(f"/api/auth/api-keys/{key_id}/rotate", body, format="json"), 400) == "validation_error"


def test_routes_need_a_token_and_ids_must_be_uuids(api_client):
    assert error_code(api_client.get("/api/auth/api-keys"), 401) == "not_authenticated"
    assert error_code(api_client.delete("/api/auth/api-keys/not-a-uuid"), 404) == "not_found"
    assert error_code(api_client.put("/api/auth/api-keys", {}, format="json"), 405) == "method_not_allowed"
