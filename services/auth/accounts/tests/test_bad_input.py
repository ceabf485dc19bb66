"""Every public route answers bad input with a 4xx JSON error, never a 500."""
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

GOOD = {"email": "someone@example.com", "password": "a sufficiently long passphrase"}
POST_ROUTES = ["/api/auth/signup", "/api/auth/token", "/api/auth/token/refresh"]


def post_raw(client, path, body: bytes, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type)


def error_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("body", [b"{", b'{"email": }', b"\xff", b'{"a": NaN}'])
def test_malformed_json(api_client, path, body):
    assert error_of(post_raw(api_client, path, body), 400)["code"] == "invalid_json"


@pytest.mark.parametrize("path", POST_ROUTES)
def test_non_json_content_type_is_415(api_client, path):
    assert error_of(post_raw(api_client, path, b"email=a", "application/x-www-form-urlencoded"), 415)["code"] == (
        "unsupported_media_type"
    )
    assert error_of(post_raw(api_client, path, b'{"email": "a"}', "text/plain"), 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", POST_ROUTES)
def test_body_without_content_type_is_415(api_client, path):
    response = api_client.generic("POST", path, b'{"a": 1}', content_type="")
    assert error_of(response, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", POST_ROUTES)
def test_unknown_fields_are_named(api_client, path):
    body = {**GOOD, "refresh": "x", "is_staff": True} if path != "/api/auth/token/refresh" else {"refresh": "x", "is_staff": True}
    error = error_of(api_client.post(path, body, format="json"), 400)
    assert error["code"] == "validation_error"
    assert "is_staff" in error["fields"]


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("body", [[], [GOOD], "text", 42, None])
def test_non_object_bodies(api_client, path, body):
    if body is None and path in ("/api/auth/token/refresh", "/api/auth/logout"):
        # No body at all is how a browser asks with its refresh cookie; without one it is refused.
        assert error_of(api_client.post(path, body, format="json"), 401)["code"] == "token_invalid"
        return
    assert error_of(api_client.post(path, body, format="json"), 400)["code"] == "validation_error"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": GOOD["password"]}, "email"),
        ({"email": GOOD["email"]}, "password"),
        ({}, "email"),
        ({"email": 123, "password": GOOD["password"]}, "email"),
        ({"email": GOOD["email"], "password": ["list"]}, "password"),
        ({"email": GOOD["email"], "password": {"a": 1}}, "password"),
        ({"email": None, "password": GOOD["password"]}, "email"),
        ({"email": "not-an-email", "password": GOOD["password"]}, "email"),
        ({"email": "a" * 250 + "@example.com", "password": GOOD["password"]}, "email"),
        ({"email": GOOD["email"], "password": "p" * 129}, "password"),
        ({"email": GOOD["email"], "password": ""}, "password"),
    ],
)
@pytest.mark.parametrize("path", ["/api/auth/signup", "/api/auth/token"])
def test_credential_field_errors(api_client, path, body, field):
    error = error_of(api_client.post(path, body, format="json"), 400)
    assert error["code"] == "validation_error"
    assert field in error["fields"]


@pytest.mark.parametrize("refresh", [None, 12, "", ["a"], "x" * 5000])
def test_refresh_field_errors(api_client, refresh):
    error = error_of(api_client.post("/api/auth/token/refresh", {"refresh": refresh}, format="json"), 400)
    assert error["code"] == "validation_error" and "refresh" in error["fields"]


def test_oversized_body_is_413(api_client):
    body = b'{"email": "a@example.com", "password": "' + b"p" * 20000 + b'"}'
    assert error_of(post_raw(api_client, "/api/auth/signup", body), 413)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/auth/signup"), ("put", "/api/auth/token"), ("delete", "/api/auth/token/refresh"),
     ("post", "/api/auth/me"), ("post", "/api/auth/.well-known/jwks.json"), ("post", "/healthz")],
)
def test_wrong_method_is_405(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert error_of(response, 405)["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/auth/nope", "/nope", "/api/auth/signup/", "/api/auth/"])
def test_unknown_route_is_json_404(api_client, path):
    assert error_of(api_client.get(path), 404)["code"] == "not_found"
