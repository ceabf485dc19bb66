"""Integration: GET /api/payments/account with real RS256 tokens from a test key
(TokenVerifier.load_keys; no auth service involved)."""
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from common.authentication import get_verifier

from .factories import CustomerFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL = "/api/payments/account"


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_valid_token_returns_the_callers_customer(api_client, verifier, make_token):
    customer = CustomerFactory(email="ada@example.com")
    CustomerFactory()  # someone else, never returned
    response = api_client.get(URL, **bearer(make_token(customer.user_id)))
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == str(customer.user_id)
    assert body["email"] == "ada@example.com"
    assert body["created_at"].startswith(customer.created_at.strftime("%Y-%m-%dT%H:%M"))
    assert set(body) == {"user_id", "email", "created_at"}


def test_before_the_registration_event_the_account_is_not_found(api_client, verifier, make_token):
    response = api_client.get(URL, **bearer(make_token(uuid.uuid4())))
    assert response.status_code == 404
    assert error_code(response) == "customer_not_found"


def test_a_non_uuid_subject_is_not_found_not_a_crash(api_client, verifier, make_token):
    response = api_client.get(URL, **bearer(make_token("not-a-uuid")))
    assert response.status_code == 404


@pytest.mark.parametrize("header", [None, "Basic YWRhOnB3", "Token abc"])
def test_missing_token_is_not_authenticated(api_client, verifier, header):
    response = api_client.get(URL, **({"HTTP_AUTHORIZATION": header} if header else {}))
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token(api_client, verifier, make_token):
    response = api_client.get(URL, **bearer(make_token(uuid.uuid4(), expires_in=-60)))
    assert response.status_code == 401
    assert error_code(response) == "token_expired"


def test_token_signed_by_another_key_is_forged(api_client, verifier, make_token):
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = api_client.get(URL, **bearer(make_token(uuid.uuid4(), key=intruder)))
    assert response.status_code == 401
    assert error_code(response) == "token_invalid"


@pytest.mark.parametrize(
    "token_kwargs",
    [{"aud": "someone-else"}, {"iss": "evil"}, {"token_type": "refresh"}, {"kid": "unknown-kid"}],
)
def test_tokens_with_wrong_claims_are_invalid(api_client, verifier, make_token, token_kwargs):
    response = api_client.get(URL, **bearer(make_token(uuid.uuid4(), **token_kwargs)))
    assert response.status_code == 401
    assert error_code(response) == "token_invalid"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer garbage", "Bearer e30.e30.e30"])
def test_malformed_bearer_headers_are_invalid(api_client, verifier, header):
    response = api_client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert error_code(response) == "token_invalid"


def test_unreachable_key_server_is_503_not_401(api_client, make_token):
    get_verifier.cache_clear()  # a fresh verifier must fetch the JWKS; nothing listens there
    try:
        response = api_client.get(URL, **bearer(make_token(uuid.uuid4())))
    finally:
        get_verifier.cache_clear()
    assert response.status_code == 503
    assert error_code(response) == "auth_unavailable"


def test_post_is_method_not_allowed_once_authenticated(api_client, verifier, make_token):
    response = api_client.post(URL, data="{bad", content_type="application/json", **bearer(make_token(uuid.uuid4())))
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
