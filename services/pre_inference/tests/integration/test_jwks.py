"""The verifier pre_inference builds from ATELIER_JWKS_URL, against a real HTTP server that
serves a JWKS: a key rotated in is picked up on its first token, the previous key keeps
verifying while auth still publishes it (its grace), and a JWKS served broken is a 503
auth_unavailable, never a 500."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from atelier_identity import TokenVerifier
from cryptography.hazmat.primitives.asymmetric import rsa

from app.main import create_app

pytestmark = pytest.mark.integration


class JwksServer:
    def __init__(self):
        self.document: dict = {"keys": []}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/auth/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def jwk(private, kid):
    return {**jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": kid, "alg": "RS256", "use": "sig"}


def token(private, kid):
    now = int(time.time())
    claims = {"iss": "atelier-auth", "aud": "atelier", "sub": str(uuid.uuid4()), "tier": "free", "verified": True,
              "token_type": "access", "iat": now, "exp": now + 300}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def jwks_server():
    server = JwksServer()
    yield server
    server.close()


async def test_rotation_and_its_grace_through_the_real_jwks(settings, jwks_server):
    old, new = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    jwks_server.document = {"keys": [jwk(old, "old")]}
    # What create_app builds from the settings (no refresh interval, so the test needs no waits).
    verifier = TokenVerifier(jwks_server.url, min_refresh_interval_s=0)
    app = create_app(settings.model_copy(update={"atelier_jwks_url": jwks_server.url}), verifier=verifier)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            async def status(tok):
                return (await client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {tok}"})).status_code

            assert await status(token(old, "old")) == 200
            jwks_server.document = {"keys": [jwk(new, "new"), jwk(old, "old")]}  # rotated: old in its grace
            assert await status(token(new, "new")) == 200
            assert await status(token(old, "old")) == 200
            jwks_server.document = {"keys": [{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}]}
            response = await client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token(new, 'broken')}"})
            assert response.status_code == 503 and response.json()["error"]["code"] == "auth_unavailable"
    finally:
        await app.state.engine.dispose()


async def test_create_app_builds_its_verifier_from_atelier_jwks_url(settings):
    app = create_app(settings.model_copy(update={"atelier_jwks_url": "http://127.0.0.1:9/x.json"}))
    try:
        assert app.state.verifier._jwks_url == "http://127.0.0.1:9/x.json"
    finally:
        await app.state.engine.dispose()
