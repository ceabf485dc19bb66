"""Unit tests: header filtering in both directions, request ids, body limits, token mapping."""
import pytest
from atelier_identity import TokenError
from starlette.requests import Request

from app.api.routes.proxy import read_body_limited, upstream_url
from app.apikeys import ApiKeyExchange
from app.deps import require_identity, resolve_credentials
from app.errors import ApiError, error_body
from app.headers import accept_request_id, filter_request_headers, filter_response_headers, rewrite_location
from app.routing import Route


def _names(headers):
    return [n.lower() for n, _ in headers]


def test_request_drops_hop_by_hop_and_connection_listed_headers():
    incoming = [
        ("Host", "atelier.example"), ("Connection", "keep-alive, X-Secret-Hop"), ("Keep-Alive", "timeout=5"),
        ("X-Secret-Hop", "1"), ("Transfer-Encoding", "chunked"), ("TE", "trailers"), ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic x"), ("Content-Length", "12"), ("Authorization", "Bearer t"),
        ("Content-Type", "application/json"), ("Cookie", "a=1"),
    ]
    out = filter_request_headers(incoming, request_id="rid", client_ip="10.0.0.7", scheme="https", host="atelier.example")
    names = _names(out)
    for dropped in ("host", "connection", "keep-alive", "x-secret-hop", "transfer-encoding", "te", "upgrade",
                    "proxy-authorization", "content-length"):
        assert dropped not in names
    assert ("authorization", "Bearer t") in [(n.lower(), v) for n, v in out]
    assert dict(out)["x-request-id"] == "rid"
    assert dict(out)["x-forwarded-proto"] == "https"
    assert dict(out)["x-forwarded-host"] == "atelier.example"


def test_client_supplied_forwarding_headers_are_replaced_not_trusted():
    out = filter_request_headers(
        [("X-Forwarded-For", "1.2.3.4"), ("X-Request-ID", "spoof"), ("X-Real-IP", "1.2.3.4")],
        request_id="mine", client_ip="10.0.0.7", scheme="http", host=None,
    )
    assert [v for n, v in out if n.lower() == "x-forwarded-for"] == ["10.0.0.7"]
    assert [v for n, v in out if n.lower() == "x-request-id"] == ["mine"]
    assert "x-real-ip" not in _names(out)


def test_accept_encoding_defaults_to_identity_but_keeps_the_clients():
    assert ("accept-encoding", "identity") in filter_request_headers([], request_id="r", client_ip=None, scheme="http", host=None)
    out = filter_request_headers([("Accept-Encoding", "gzip")], request_id="r", client_ip=None, scheme="http", host=None)
    assert [v for n, v in out if n.lower() == "accept-encoding"] == ["gzip"]


def test_response_keeps_repeated_headers_and_drops_hop_by_hop():
    out = filter_response_headers([
        ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Connection", "close"), ("Transfer-Encoding", "chunked"),
        ("Server", "WSGIServer"), ("Date", "x"), ("Content-Length", "3"), ("Content-Encoding", "gzip"),
    ])
    assert [v for n, v in out if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert set(_names(out)) == {"set-cookie", "content-length", "content-encoding"}


def test_location_to_an_internal_address_becomes_a_path():
    assert rewrite_location("http://127.0.0.1:8101/admin/auth/login/?next=/x", "http://127.0.0.1:8101") == "/admin/auth/login/?next=/x"
    assert rewrite_location("https://checkout.example/pay", "http://127.0.0.1:8101") == "https://checkout.example/pay"


@pytest.mark.parametrize("value, kept", [("abc-123", True), ("a" * 128, True), ("a" * 129, False),
                                          ("bad id", False), ("x\r\ny", False), (None, False), ("", False),
                                          # "$" matched before a trailing newline: the kit's rule uses fullmatch.
                                          ("abc\n", False)])
def test_request_id_is_kept_only_when_safe(value, kept):
    result = accept_request_id(value)
    assert (result == value) is kept
    assert 1 <= len(result) <= 128


def _request(body_chunks, headers=(), path="/api/v1/jobs", query=b""):
    chunks = list(body_chunks)

    async def receive():
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": query,
             "headers": [(k.encode(), v.encode()) for k, v in headers]}
    return Request(scope, receive)


async def test_body_limit_is_counted_without_content_length():
    with pytest.raises(ApiError) as caught:
        await read_body_limited(_request([b"x" * 600, b"x" * 600]), 1000)
    assert caught.value.status == 413 and caught.value.code == "payload_too_large"


async def test_body_limit_refuses_a_large_declared_length_at_once():
    with pytest.raises(ApiError):
        await read_body_limited(_request([], headers=[("content-length", "5000")]), 1000)


async def test_body_within_limit_is_returned_whole():
    assert await read_body_limited(_request([b"ab", b"cd"], headers=[("content-length", "1")]), 1000) == b"abcd"


def test_upstream_url_keeps_raw_path_and_query():
    route = Route("r", "/api/v1/", "pre", "http://pre:3", True, 1, 1)
    request = _request([], path="/api/v1/images/a%2Fb", query=b"q=%20x&q=2")
    assert upstream_url(route, request) == "http://pre:3/api/v1/images/a%2Fb?q=%20x&q=2"


class _UnusedRedis:
    def register_script(self, source):
        return None


class _App:
    def __init__(self, verifier):
        # A malformed key is refused before Redis or auth is asked, so neither is needed here.
        apikeys = ApiKeyExchange(redis=_UnusedRedis(), http=None, auth_url="http://auth", internal_token="t", prefix="p:")
        self.state = type("S", (), {"verifier": verifier, "apikeys": apikeys})()


class _Verifier:
    def __init__(self, error):
        self.error = error

    def can_verify_offline(self, token):
        return True

    def verify(self, token):
        raise self.error


def _authed_request(authorization, verifier):
    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "app": _App(verifier),
                    "query_string": b""})


@pytest.mark.parametrize("authorization, error, status, code", [
    (None, None, 401, "not_authenticated"),
    ("Basic abc", None, 401, "token_invalid"),
    ("Bearer ", None, 401, "token_invalid"),
    ("Bearer atl_live_abc", None, 401, "api_key_invalid"),
    ("Bearer x.y.z", TokenError("token_expired", "expired"), 401, "token_expired"),
    ("Bearer x.y.z", TokenError("token_invalid", "bad"), 401, "token_invalid"),
    ("Bearer x.y.z", TokenError("auth_unavailable", "down"), 503, "auth_unavailable"),
    ("Bearer x.y.z", ValueError("broken jwks"), 503, "auth_unavailable"),
])
async def test_token_problems_map_to_clear_errors(authorization, error, status, code):
    with pytest.raises(ApiError) as caught:
        request = _authed_request(authorization, _Verifier(error))
        await require_identity(request, await resolve_credentials(request))
    assert (caught.value.status, caught.value.code) == (status, code)


def test_error_body_shape():
    assert error_body("not_found", "nope") == {"error": {"code": "not_found", "message": "nope"}}
    assert error_body("validation_error", "bad", {"x": ["y"]})["error"]["fields"] == {"x": ["y"]}


async def test_an_unexpected_error_is_a_json_500_with_security_headers():
    import httpx

    from app.middleware import EdgeMiddleware, Metrics

    async def broken(scope, receive, send):
        raise RuntimeError("bug")

    metrics = Metrics()
    app = EdgeMiddleware(broken, metrics=metrics, route_label=lambda path: "spa")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/x", headers={"X-Request-ID": "abc"})
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-request-id"] == "abc"
    assert metrics.requests.labels("spa", "GET", "500")._value.get() == 1


def test_with_tracing_on_the_gateways_trace_context_replaces_the_callers():
    incoming = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("tracestate", "x=1")]
    ours = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"}
    out = filter_request_headers(incoming, request_id="rid", client_ip=None, scheme="https", host=None, trace=ours)
    assert [(n, v) for n, v in out if n in ("traceparent", "tracestate")] == list(ours.items())
    untraced = filter_request_headers(incoming, request_id="rid", client_ip=None, scheme="https", host=None, trace={})
    assert ("traceparent", incoming[0][1]) in untraced
