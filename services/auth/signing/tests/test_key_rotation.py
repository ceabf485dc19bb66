"""Signing keys in the database: rotation, kid, JWKS contents and grace periods."""
from datetime import timedelta
from io import StringIO

import jwt
import pytest
from atelier_identity import TokenError, TokenVerifier
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, error_code, login
from signing import crypto, keyring
from signing.keys import file_key
from signing.models import StoredSigningKey

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def jwks_kids(client) -> list[str]:
    return [key["kid"] for key in client.get("/api/auth/.well-known/jwks.json").json()["keys"]]


def verifier(client) -> TokenVerifier:
    v = TokenVerifier("http://unused.invalid/jwks.json")
    v.load_keys(client.get("/api/auth/.well-known/jwks.json").json())
    return v


def age_retirement(kid: str, by: timedelta) -> None:
    StoredSigningKey.objects.filter(kid=kid).update(retired_at=timezone.now() - by)


def test_the_file_key_is_the_first_key_and_is_encrypted_at_rest(api_client):
    assert jwks_kids(api_client) == [file_key().kid]
    row = StoredSigningKey.objects.get(kid=file_key().kid)
    assert "PRIVATE KEY" not in row.private_pem_encrypted
    assert crypto.decrypt(row.private_pem_encrypted) == file_key().private_pem


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_in_its_grace(api_client):
    user = UserFactory()
    before = login(api_client, user.email)
    old_kid = jwt.get_unverified_header(before["access"])["kid"]
    out = StringIO()
    call_command("rotate_signing_key", stdout=out)
    new_kid = keyring.keyring().current.kid
    assert new_kid != old_kid and new_kid in out.getvalue()

    after = login(api_client, user.email)
    assert jwt.get_unverified_header(after["access"])["kid"] == new_kid
    assert jwks_kids(api_client) == [new_kid, old_kid]
    # Both tokens verify, here and for every service reading the JWKS.
    for token in (before["access"], after["access"]):
        assert api_client.get("/api/auth/me", **bearer(token)).status_code == 200
        verifier(api_client).verify(token)

    # After the access-token grace, the old key leaves the JWKS and stops verifying.
    age_retirement(old_kid, keyring.access_grace() + timedelta(seconds=1))
    assert jwks_kids(api_client) == [new_kid]
    assert error_code(api_client.get("/api/auth/me", **bearer(before["access"])), 401) == "token_invalid"
    with pytest.raises(TokenError):
        verifier(api_client).verify(before["access"])
    # ...but a refresh token it signed still works (auth checks those against its records).
    refreshed = api_client.post("/api/auth/token/refresh", {"refresh": before["refresh"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    assert jwt.get_unverified_header(refreshed.json()["access"])["kid"] == new_kid


def test_a_refresh_token_past_its_keys_refresh_grace_is_refused(api_client):
    user = UserFactory()
    before = login(api_client, user.email)
    old_kid = keyring.keyring().current.kid
    keyring.rotate()
    age_retirement(old_kid, keyring.refresh_grace() + timedelta(seconds=1))
    response = api_client.post("/api/auth/token/refresh", {"refresh": before["refresh"]}, format="json")
    assert error_code(response, 401) == "token_invalid"


def test_the_jwks_lists_only_current_and_previous_keys_in_grace(api_client):
    first = keyring.keyring().current.kid
    second = keyring.rotate().kid
    third = keyring.rotate().kid
    assert jwks_kids(api_client) == [third, second, first]
    age_retirement(first, keyring.access_grace() * 2)
    assert jwks_kids(api_client) == [third, second]
    assert StoredSigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_tokens_with_an_unknown_or_missing_kid_are_refused(api_client):
    user = UserFactory()
    token = login(api_client, user.email)["access"]
    claims = jwt.decode(token, options={"verify_signature": False})
    private = keyring.keyring().current.private_pem
    for headers in ({"kid": "someone-else"}, {}):
        forged = jwt.encode(claims, private, algorithm="RS256", headers=headers)
        assert error_code(api_client.get("/api/auth/me", **bearer(forged)), 401) == "token_invalid"


def test_a_changed_secret_key_without_fallback_is_a_clear_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    token = crypto.encrypt("secret pem")
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(token)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY.removeprefix("another-")]
    assert crypto.decrypt(token) == "secret pem"
