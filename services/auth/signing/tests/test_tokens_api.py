"""Tokens over HTTP: obtain, rotate, use, and verification as the other services do it."""
import time
from datetime import timedelta

import jwt
import pytest
from atelier_identity import TokenError, TokenVerifier
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import Tier
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from signing.keys import current_key, generate_private_pem, SigningKey
from signing.tokens import AccessToken, KidTokenBackend

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def obtain(client, email, password=DEFAULT_PASSWORD):
    return client.post("/api/auth/token", {"email": email, "password": password}, format="json")


def refresh(client, token):
    return client.post("/api/auth/token/refresh", {"refresh": token}, format="json")


def me(client, token=None, header=None):
    if header is None and token is not None:
        header = f"Bearer {token}"
    return client.get("/api/auth/me", **({"HTTP_AUTHORIZATION": header} if header is not None else {}))


def verifier(client) -> TokenVerifier:
    v = TokenVerifier("http://unused.invalid/jwks.json")
    v.load_keys(client.get("/api/auth/.well-known/jwks.json").json())
    return v


def test_obtain_gives_tokens_the_platform_accepts(api_client):
    user = UserFactory(email="pat@example.com", tier=Tier.PRO)
    response = obtain(api_client, "PAT@example.com")
    assert response.status_code == 200, response.content
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    assert response["Cache-Control"] == "no-store"

    identity = verifier(api_client).verify(pair["access"])
    assert identity.user_id == str(user.pk)
    assert (identity.email, identity.tier, identity.verified) == ("pat@example.com", "pro", False)
    claims = identity.claims
    assert claims["iss"] == "atelier-auth" and claims["aud"] == "atelier" and claims["token_type"] == "access"
    assert {"exp", "iat", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert jwt.get_unverified_header(pair["access"])["kid"] == current_key().kid

    refresh_claims = jwt.decode(pair["refresh"], options={"verify_signature": False})
    assert refresh_claims["token_type"] == "refresh"
    assert refresh_claims["exp"] - refresh_claims["iat"] == 7 * 24 * 3600
    with pytest.raises(TokenError) as info:
        verifier(api_client).verify(pair["refresh"])  # a refresh token is not an access token
    assert info.value.code == "token_invalid"


def test_jwks_document(api_client):
    response = api_client.get("/api/auth/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    (key,) = response.json()["keys"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
    assert key["kid"] == current_key().kid
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}


@pytest.mark.parametrize("password", ["wrong password", DEFAULT_PASSWORD.upper()])
def test_wrong_password_is_401(api_client, password):
    UserFactory(email="pw@example.com")
    response = obtain(api_client, "pw@example.com", password)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_unknown_and_inactive_accounts_get_the_same_401(api_client):
    UserFactory(email="gone@example.com", is_active=False)
    for email in ["gone@example.com", "nobody@example.com"]:
        response = obtain(api_client, email)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"


def test_refresh_rotates_and_old_refresh_token_is_refused(api_client):
    user = UserFactory()
    first = obtain(api_client, user.email).json()
    user.tier = Tier.PARTNER
    user.save()

    response = refresh(api_client, first["refresh"])
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert verifier(api_client).verify(second["access"]).tier == "partner"  # claims re-read

    reused = refresh(api_client, first["refresh"])
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_revoked"
    # Reuse means a copy exists: the whole family ends, the newest token with it.
    assert refresh(api_client, second["refresh"]).json()["error"]["code"] == "token_revoked"
    assert OutstandingToken.objects.filter(user=user).count() == 2


def test_refresh_refuses_access_tokens_and_garbage(api_client):
    user = UserFactory()
    pair = obtain(api_client, user.email).json()
    for bad in [pair["access"], "garbage", pair["refresh"][:-4] + "AAAA"]:
        response = refresh(api_client, bad)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "token_invalid"


def test_refresh_for_a_deactivated_user_is_refused(api_client):
    user = UserFactory()
    pair = obtain(api_client, user.email).json()
    user.is_active = False
    user.save()
    assert refresh(api_client, pair["refresh"]).json()["error"]["code"] == "token_invalid"


def test_me_with_a_valid_token(api_client):
    user = UserFactory(email="me@example.com", email_verified=True)
    access = obtain(api_client, user.email).json()["access"]
    response = me(api_client, access)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user.pk) and body["email"] == "me@example.com"
    assert body["tier"] == "free" and body["verified"] is True
    assert set(body) == {"id", "email", "tier", "verified", "date_joined"}


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwdw=="])
def test_me_without_a_token_is_401_not_authenticated(api_client, header):
    response = me(api_client, header=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def _forged_tokens(user, genuine: str) -> list[str]:
    other_key = SigningKey.from_pem(generate_private_pem())
    header, payload, signature = genuine.split(".")
    claims = jwt.decode(genuine, options={"verify_signature": False})
    return [
        "garbage",
        "a.b.c",
        f"{header}.{payload}.{signature[:-6]}AAAAAA",
        KidTokenBackend(other_key).encode({**claims}),  # right claims, wrong key
        jwt.encode({**claims}, "s" * 64, algorithm="HS256", headers={"kid": current_key().kid}),
        jwt.encode({**claims}, None, algorithm="none"),
        KidTokenBackend(current_key()).encode({**claims, "token_type": "refresh"}),
        KidTokenBackend(current_key()).encode({**claims, "sub": "not-a-uuid"}),
    ]


def test_me_with_forged_tokens_is_401_token_invalid(api_client):
    user = UserFactory()
    genuine = obtain(api_client, user.email).json()["access"]
    for forged in _forged_tokens(user, genuine):
        response = me(api_client, forged)
        assert response.status_code == 401, forged
        assert response.json()["error"]["code"] == "token_invalid", forged
    assert me(api_client, header=f"Bearer {genuine} extra").json()["error"]["code"] == "token_invalid"


def test_me_with_an_expired_token_is_401_token_expired(api_client):
    user = UserFactory()
    token = AccessToken()
    token["sub"] = str(user.pk)
    token.set_exp(from_time=token.current_time - timedelta(hours=1))
    response = me(api_client, str(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    with pytest.raises(TokenError) as info:
        verifier(api_client).verify(str(token))
    assert info.value.code == "token_expired"


def test_me_for_a_deactivated_user_is_401(api_client):
    user = UserFactory()
    access = obtain(api_client, user.email).json()["access"]
    user.is_active = False
    user.save()
    assert me(api_client, access).json()["error"]["code"] == "token_invalid"


def test_issued_at_is_now(api_client):
    user = UserFactory()
    access = obtain(api_client, user.email).json()["access"]
    assert abs(jwt.decode(access, options={"verify_signature": False})["iat"] - time.time()) < 10
