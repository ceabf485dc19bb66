"""Fixtures shared by every app's tests.

The run's database is provisioned here, on first use, and its roles cannot create
databases, so pytest-django's usual "create test_<name>" is replaced by migrating the
provisioned database once per run.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from rest_framework.test import APIClient

from common.authentication import get_verifier

KID = "test-key-1"


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    import environ
    from atelier_devkit.testing import provision_for_process
    from django.conf import settings
    from django.db import connections

    provisioned = provision_for_process("pay")
    connection = connections["default"]
    # settings.DATABASES["default"] is this very dict, so everything sees the run's database.
    connection.settings_dict.update(environ.Env.db_url_config(provisioned["PAYMENTS_DATABASE_URL"]))
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()
    settings.ATELIER_AMQP_URL = provisioned["ATELIER_AMQP_URL"]
    with django_db_blocker.unblock():
        call_command("migrate", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks(signing_key) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}


@pytest.fixture
def verifier(jwks):
    """The process-wide verifier with the test key set installed (no auth service)."""
    get_verifier.cache_clear()
    instance = get_verifier()
    instance.load_keys(jwks)
    yield instance
    get_verifier.cache_clear()


@pytest.fixture
def make_token(signing_key) -> Callable[..., str]:
    def make(user_id: uuid.UUID | str | None = None, *, expires_in: int = 300, key=None, kid: str = KID,
             **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "atelier-auth", "aud": "atelier", "sub": str(user_id or uuid.uuid4()),
            "email": "ada@example.com", "tier": "free", "verified": True, "token_type": "access",
            "iat": now - 10, "exp": now + expires_in, "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, key or signing_key, algorithm="RS256", headers={"kid": kid})

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
