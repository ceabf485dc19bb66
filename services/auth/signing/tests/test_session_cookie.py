"""A browser's refresh token lives in an HttpOnly cookie: never in a body the page's scripts
read, rotated in place, sent back by the browser alone, removed at logout or once refused."""
import pytest

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from signing.api.session_cookie import COOKIE_PATH, REFRESH_COOKIE

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def log_in(client, email, **extra):
    return client.post("/api/auth/token", {"email": email, "password": DEFAULT_PASSWORD, **extra}, format="json")


def cookie_of(response):
    return response.cookies[REFRESH_COOKIE]


def test_a_cookie_login_keeps_the_refresh_token_out_of_the_body(api_client):
    UserFactory(email="ada@example.com")
    response = log_in(api_client, "ada@example.com", delivery="cookie")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access"}
    cookie = cookie_of(response)
    assert cookie.value.count(".") == 2  # the refresh JWT
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == COOKIE_PATH
    assert int(cookie["max-age"]) == 7 * 24 * 3600
    assert response["Cache-Control"] == "no-store"


def test_refresh_from_the_cookie_rotates_it_in_place(api_client):
    UserFactory(email="ada@example.com")
    first = cookie_of(log_in(api_client, "ada@example.com", delivery="cookie")).value
    # The test client sends back the cookies it was given, as a browser does.
    rotated = api_client.post("/api/auth/token/refresh", {}, format="json")
    assert rotated.status_code == 200, rotated.content
    assert set(rotated.json()) == {"access"}
    second = cookie_of(rotated).value
    assert second != first
    # The old token is spent: presenting it again is reuse, and it ends the session.
    api_client.cookies[REFRESH_COOKIE] = first
    reused = api_client.post("/api/auth/token/refresh", {}, format="json")
    assert reused.status_code == 401
    assert cookie_of(reused).value == "" and int(cookie_of(reused)["max-age"]) == 0  # removed
    api_client.cookies[REFRESH_COOKIE] = second
    assert api_client.post("/api/auth/token/refresh", {}, format="json").status_code == 401  # the whole session ended


def test_logout_from_the_cookie_ends_the_session_and_removes_the_cookie(api_client):
    UserFactory(email="ada@example.com")
    token = cookie_of(log_in(api_client, "ada@example.com", delivery="cookie")).value
    out = api_client.post("/api/auth/logout", {}, format="json")
    assert out.status_code == 204
    assert cookie_of(out).value == ""
    api_client.cookies[REFRESH_COOKIE] = token
    assert api_client.post("/api/auth/token/refresh", {}, format="json").status_code == 401


def test_api_clients_keep_the_token_in_json_and_no_cookie_is_set(api_client):
    UserFactory(email="ada@example.com")
    response = log_in(api_client, "ada@example.com")
    assert set(response.json()) == {"access", "refresh"} and REFRESH_COOKIE not in response.cookies
    rotated = api_client.post("/api/auth/token/refresh", {"refresh": response.json()["refresh"]}, format="json")
    assert set(rotated.json()) == {"access", "refresh"} and REFRESH_COOKIE not in rotated.cookies


def test_no_token_anywhere_is_refused_plainly(api_client):
    response = api_client.post("/api/auth/token/refresh", {}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"
    assert api_client.post("/api/auth/logout", {}, format="json").status_code == 401


def test_an_unknown_delivery_is_a_validation_error(api_client):
    UserFactory(email="ada@example.com")
    response = log_in(api_client, "ada@example.com", delivery="carrier-pigeon")
    assert response.status_code == 400 and "delivery" in response.json()["error"]["fields"]


def test_a_password_change_puts_the_new_refresh_token_in_the_cookie(api_client):
    UserFactory(email="ada@example.com")
    access = log_in(api_client, "ada@example.com", delivery="cookie").json()["access"]
    before = api_client.cookies[REFRESH_COOKIE].value
    changed = api_client.post("/api/auth/password/change", {"old_password": DEFAULT_PASSWORD, "new_password": "a new long passphrase 42"},
                              format="json", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert changed.status_code == 200, changed.content
    assert set(changed.json()) == {"access"} and cookie_of(changed).value not in ("", before)
