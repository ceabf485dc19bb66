"""Unit tests: keys, thumbprints and token headers, no database."""
import base64

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

from signing.keys import SigningKey, b64url_uint, generate_private_pem, jwk_thumbprint, load_or_create_private_key
from signing.tokens import KidTokenBackend

# RFC 7638 section 3.1
RFC_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5ha"
    "jrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def test_thumbprint_matches_rfc_7638_example():
    jwk = {"kty": "RSA", "n": RFC_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_b64url_uint_has_no_padding_or_leading_zeros():
    assert b64url_uint(65537) == "AQAB"
    assert b64url_uint(0) == "AA"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.from_pem(generate_private_pem())


def test_public_jwk_round_trips_to_the_same_public_key(key):
    public = jwt.PyJWK(key.public_jwk, algorithm="RS256").key
    expected = serialization.load_pem_public_key(key.public_pem.encode())
    assert public.public_numbers() == expected.public_numbers()
    assert key.public_jwk["kid"] == key.kid == jwk_thumbprint(key.public_jwk)
    assert key.public_jwk["use"] == "sig" and key.public_jwk["alg"] == "RS256"
    assert "d" not in key.public_jwk and "p" not in key.public_jwk


def test_backend_puts_kid_in_header_and_sets_iss_aud(key, settings):
    token = KidTokenBackend(key).encode({"sub": "x"})
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    claims = jwt.decode(token, key.public_pem, algorithms=["RS256"], audience="atelier")
    assert claims["iss"] == "atelier-auth" and claims["aud"] == "atelier"


def test_small_or_non_rsa_keys_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ImproperlyConfigured):
        SigningKey.from_pem(small)
    with pytest.raises(ImproperlyConfigured):
        SigningKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


def test_key_file_is_created_once_and_reused(tmp_path):
    path = tmp_path / "sub" / "key.pem"
    first = load_or_create_private_key(path, may_generate=True)
    assert load_or_create_private_key(path, may_generate=True) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert list(path.parent.iterdir()) == [path]  # no temporary files left behind


def test_missing_key_file_without_generation_is_a_configuration_error(tmp_path):
    with pytest.raises(ImproperlyConfigured):
        load_or_create_private_key(tmp_path / "absent.pem", may_generate=False)


def test_kid_is_url_safe(key):
    base64.urlsafe_b64decode(key.kid + "=")
    assert len(key.kid) == 43
