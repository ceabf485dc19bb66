"""TokenVerifier against tokens signed here and a JWKS served on loopback."""
import http.server
import json
import threading
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from atelier_identity import AUDIENCE, ISSUER, TokenError, TokenVerifier
from atelier_identity.tokens import LEEWAY_S


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER = new_key(), new_key()


def jwks(*pairs):
    keys = []
    for kid, key in pairs:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
    return {"keys": keys}


def token(key=KEY, kid="k1", *, alg="RS256", **overrides):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "email": "ada@example.com", "tier": "pro",
              "verified": True, "token_type": "access", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


@pytest.fixture()
def verifier():
    v = TokenVerifier("http://127.0.0.1:9/unused", min_refresh_interval_s=0)
    v.load_keys(jwks(("k1", KEY)))
    return v


def test_a_good_token_gives_its_identity(verifier):
    identity = verifier.verify(token(key_id="9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", scopes=["jobs:read"]))
    assert (identity.tier, identity.verified, identity.scopes) == ("pro", True, ("jobs:read",))
    assert identity.api_key_id == "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.mark.parametrize("make,code", [
    (lambda: token(exp=int(time.time()) - 60), "token_expired"),
    (lambda: token(key=OTHER), "token_invalid"),  # right kid, wrong signature
    (lambda: token(aud="someone-else"), "token_invalid"),
    (lambda: token(iss="elsewhere"), "token_invalid"),
    (lambda: token(token_type="refresh"), "token_invalid"),
    (lambda: token(sub=None), "token_invalid"),
    (lambda: token(kid=None), "token_invalid"),
    (lambda: jwt.encode({"sub": "x"}, "a-shared-secret-long-enough-for-hs256!", algorithm="HS256", headers={"kid": "k1"}), "token_invalid"),
    (lambda: "not.a.token", "token_invalid"),
    (lambda: "", "token_invalid"),
])
def test_untrustworthy_tokens_are_refused_with_a_code(verifier, make, code):
    with pytest.raises(TokenError) as caught:
        verifier.verify(make())
    assert caught.value.code == code


def test_offline_check_tells_when_a_fetch_would_be_needed(verifier):
    assert verifier.can_verify_offline(token()) is True
    assert verifier.can_verify_offline("garbage") is True
    assert verifier.can_verify_offline(token(kid="k2")) is False


class JwksServer:
    def __init__(self, document):
        self.document = document
        self.hits = 0
        self.failing = False  # auth answering 503 (restarting, overloaded)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits += 1
                body = json.dumps(outer.document).encode()
                if outer.failing:
                    body = b"<h1>Service Unavailable</h1>"
                self.send_response(503 if outer.failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.mark.integration
def test_an_unknown_kid_refreshes_the_keys_once_per_interval():
    server = JwksServer(jwks(("k1", KEY)))
    try:
        verifier = TokenVerifier(server.url, min_refresh_interval_s=60)
        assert verifier.verify(token()).tier == "pro"  # first use fetches
        server.document = jwks(("k1", KEY), ("k2", OTHER))  # auth rotated its key
        with pytest.raises(TokenError):
            verifier.verify(token(key=OTHER, kid="k2"))  # inside the interval: no second fetch
        assert server.hits == 1
        verifier = TokenVerifier(server.url, min_refresh_interval_s=0)
        assert verifier.verify(token(key=OTHER, kid="k2")).tier == "pro"
        for _ in range(3):
            with pytest.raises(TokenError):
                verifier.verify(token(kid="forged-kid"))
    finally:
        server.close()


@pytest.mark.integration
def test_auth_being_unreachable_is_its_own_code():
    verifier = TokenVerifier("http://127.0.0.1:9/jwks.json", timeout_s=1)
    with pytest.raises(TokenError) as caught:
        verifier.verify(token())
    assert caught.value.code == "auth_unavailable"


@pytest.fixture()
def jwks_server():
    server = JwksServer(jwks(("k1", KEY)))
    yield server
    server.close()


@pytest.mark.integration
def test_a_retired_key_stops_being_trusted_at_the_next_scheduled_refresh(jwks_server):
    """Finding 9: a key fetched once used to be trusted until the process restarted."""
    verifier = TokenVerifier(jwks_server.url, min_refresh_interval_s=0, refresh_interval_s=0.3)
    old_token = token()
    assert verifier.verify(old_token).tier == "pro"
    # Rotation: auth signs with k2 and still publishes k1 during the grace period.
    jwks_server.document = jwks(("k2", OTHER), ("k1", KEY))
    assert verifier.verify(token(key=OTHER, kid="k2")).tier == "pro"
    time.sleep(0.35)
    assert verifier.can_verify_offline(old_token) is False  # a refresh is due: callers must leave the event loop
    assert verifier.verify(old_token).tier == "pro"  # still published: accepted
    # Grace period over: auth retires k1.
    jwks_server.document = jwks(("k2", OTHER))
    time.sleep(0.35)
    with pytest.raises(TokenError) as caught:
        verifier.verify(old_token)
    assert caught.value.code == "token_invalid"
    assert verifier.verify(token(key=OTHER, kid="k2")).tier == "pro"


@pytest.mark.integration
def test_auth_being_down_at_a_refresh_keeps_the_last_key_set(jwks_server):
    verifier = TokenVerifier(jwks_server.url, min_refresh_interval_s=0, refresh_interval_s=0.2)
    assert verifier.verify(token()).tier == "pro"
    jwks_server.failing = True
    time.sleep(0.25)
    for _ in range(3):
        assert verifier.verify(token()).tier == "pro"  # refresh failed: the last set still works
    jwks_server.document = {"keys": []}  # a broken or empty document is no reason to drop the keys either
    jwks_server.failing = False
    time.sleep(0.25)
    assert verifier.verify(token()).tier == "pro"
    jwks_server.document = jwks(("k2", OTHER))  # auth is back, with a new set: now k1 goes
    time.sleep(0.25)
    with pytest.raises(TokenError):
        verifier.verify(token())


@pytest.mark.integration
def test_scheduled_refreshes_are_rate_limited_while_auth_is_down(jwks_server):
    verifier = TokenVerifier(jwks_server.url, min_refresh_interval_s=60, refresh_interval_s=0)
    assert verifier.verify(token()).tier == "pro"
    jwks_server.failing = True
    hits = jwks_server.hits
    for _ in range(5):
        assert verifier.verify(token()).tier == "pro"
    assert jwks_server.hits == hits  # one fetch per min_refresh_interval_s at most


@pytest.mark.integration
def test_an_unknown_kid_while_auth_is_down_is_auth_unavailable_not_invalid(jwks_server):
    verifier = TokenVerifier(jwks_server.url, min_refresh_interval_s=60)
    assert verifier.verify(token()).tier == "pro"
    jwks_server.failing = True
    verifier._attempted_at = float("-inf")  # the rate limit has passed
    for _ in range(2):  # the second within the rate limit: still the outage, not the caller's fault
        with pytest.raises(TokenError) as caught:
            verifier.verify(token(key=OTHER, kid="k2"))
        assert caught.value.code == "auth_unavailable"


def test_a_token_that_verified_is_not_checked_again(verifier, monkeypatch):
    good = token()
    first = verifier.verify(good)
    signature_checks = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: signature_checks.append(a) or pytest.fail("checked again"))
    assert verifier.verify(good) is first
    assert verifier.can_verify_offline(good)
    assert signature_checks == []


def test_a_remembered_token_is_refused_once_it_expires(verifier):
    # Expired a moment ago but inside the leeway: accepted, and then remembered only until
    # the leeway is over too.
    soon = token(exp=int(time.time()) - LEEWAY_S + 1)
    verifier.verify(soon)
    time.sleep(1.1)
    with pytest.raises(TokenError) as refused:
        verifier.verify(soon)
    assert refused.value.code == "token_expired"


def test_a_remembered_token_is_refused_once_its_key_is_retired():
    verifier = TokenVerifier("http://127.0.0.1:9/unused", min_refresh_interval_s=3600)
    verifier.load_keys(jwks(("k1", KEY)))
    signed_by_old = token()
    verifier.verify(signed_by_old)
    verifier.load_keys(jwks(("k2", OTHER)))
    with pytest.raises(TokenError) as refused:
        verifier.verify(signed_by_old)
    assert refused.value.code == "token_invalid"


def test_the_remembered_tokens_are_bounded():
    small = TokenVerifier("http://127.0.0.1:9/unused", cache_size=2)
    small.load_keys(jwks(("k1", KEY)))
    tokens = [token() for _ in range(3)]
    identities = [small.verify(t) for t in tokens]
    assert len(small._verified) == 2 and tokens[0] not in small._verified
    assert small.verify(tokens[0]) == identities[0]  # verified afresh, not lost
