"""Helpers shared by both tiers: an RSA key pair made per run, its JWKS, and tokens
shaped like auth's (see CONTRIBUTING.md, "Tokens"). No I/O here."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import jwt
import pytest
from atelier_identity import TokenVerifier
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "test-key-1"


@dataclass(frozen=True)
class SigningKeys:
    private_key: Any
    jwks: dict[str, Any]
    other_private_key: Any  # same kid, different key: a forgery


def _jwk(public_key: Any, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKeys(private_key=private, jwks={"keys": [_jwk(private.public_key(), KID)]}, other_private_key=other)


@pytest.fixture
def verifier(signing_keys: SigningKeys) -> TokenVerifier:
    # An unreachable JWKS URL and no refresh: an unknown kid must fail as token_invalid
    # without ever calling a real auth service.
    verifier = TokenVerifier("http://127.0.0.1:9/jwks.json", timeout_s=0.2, min_refresh_interval_s=1e9)
    verifier.load_keys(signing_keys.jwks)
    return verifier


@pytest.fixture
def make_token(signing_keys: SigningKeys) -> Callable[..., str]:
    def make(
        *, sub: str | None = None, tier: str = "free", expires_in: int = 300, key: Any = None, kid: str = KID, **extra: Any
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": "atelier-auth", "aud": "atelier", "sub": sub or str(uuid.uuid4()), "email": "someone@example.com",
            "tier": tier, "verified": True, "token_type": "access", "iat": now - 10, "exp": now + expires_in,
            "jti": uuid.uuid4().hex, **extra,
        }
        return jwt.encode(claims, key or signing_keys.private_key, algorithm="RS256", headers={"kid": kid})

    return make
