from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.config import Settings
from app.main import create_app

from .servers import ServerThread, Upstream

SIGNING_KEY = "test-signing-key-" + uuid.uuid4().hex


@dataclass
class Signer:
    """An RSA key that signs tokens the way auth does, and its JWK."""
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, *, expires_in: int = 300, kid: str | None = None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": "atelier-auth", "aud": "atelier", "sub": str(uuid.uuid4()), "email": "a@example.com",
                   "tier": "free", "verified": True, "token_type": "access", "iat": now - 10,
                   "exp": now + expires_in, "jti": uuid.uuid4().hex, **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": kid or self.kid})


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


@pytest.fixture(scope="session")
def provisioned() -> dict[str, str]:
    """A Redis prefix and RabbitMQ vhost (and database) of this run's own."""
    from atelier_devkit.testing import provision_for_process

    return provision_for_process("gw")


@pytest.fixture(scope="session")
def upstream(signer):
    stub = Upstream()
    stub.jwks = {"keys": [signer.jwk()]}
    stub.token_for = lambda expires_in, **claims: signer.token(expires_in=expires_in, **claims)
    with ServerThread(stub.app) as server:
        stub.url = server.url
        yield stub


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Atelier</title><div id=root></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('atelier')")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("storage")


def gateway_settings(upstream, provisioned, **overrides) -> Settings:
    values = dict(
        atelier_env="test", auth_url=upstream.url, payments_url=upstream.url, pre_inference_url=upstream.url,
        atelier_jwks_url=f"{upstream.url}/api/auth/.well-known/jwks.json", atelier_jwks_min_refresh_s=0,
        atelier_storage_signing_key=SIGNING_KEY, atelier_internal_token=upstream.internal_token,
        atelier_redis_url=provisioned["ATELIER_REDIS_URL"], atelier_redis_prefix=provisioned["ATELIER_REDIS_PREFIX"],
        atelier_amqp_url=provisioned["ATELIER_AMQP_URL"],
        # The shared gateway must not throttle the other tests; test_rate_limits builds its own.
        gateway_auth_rate_limit=10_000,
    )
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="session")
def gateway(upstream, provisioned, web_dist, storage_dir):
    settings = gateway_settings(upstream, provisioned, atelier_storage_dir=storage_dir, atelier_web_dist=web_dist)
    app = create_app(settings)
    # uvicorn trusts X-Forwarded-* from loopback by default (a local TLS terminator); off here so
    # the tests see what the gateway itself does with a client's claim.
    with ServerThread(app, proxy_headers=False) as server:
        app.base_url = server.url
        # Binding, the listener drops every cached API key (revocations it missed); a test that
        # cached one before that would find it gone. The gateway is started once it listens.
        assert app.state.revocations.connected.wait(30), "the revocation listener never bound"
        yield app


@pytest.fixture
def swap_state(gateway):
    """Replace something on app.state for one test (monkeypatch cannot restore Starlette's State)."""
    saved: dict = {}

    def swap(name, value):
        saved.setdefault(name, getattr(gateway.state, name))
        setattr(gateway.state, name, value)

    yield swap
    for name, value in saved.items():
        setattr(gateway.state, name, value)
