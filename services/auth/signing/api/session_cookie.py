"""A browser's refresh token in an HttpOnly cookie, out of reach of the page's scripts.

A client that logs in with ``"delivery": "cookie"`` (the web app) gets its refresh token as
the ``atelier_refresh`` cookie and only the access token in the body. The browser then sends
that cookie back to /api/auth/ on its own, so refresh, logout and password change find it
there when the body holds no refresh token, and answer the same way (a rotated token goes back
into the cookie). API clients keep sending and receiving the refresh token in JSON.

Cross-site requests cannot use the cookie: it is SameSite=Strict, and these endpoints take
only JSON bodies, which a cross-site page can send only after a CORS preflight nothing here
answers. Secure is set except in development and tests over plain http.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework.response import Response

REFRESH_COOKIE = "atelier_refresh"
COOKIE_PATH = "/api/auth/"
NO_STORE = {"Cache-Control": "no-store"}


def presented(request) -> str | None:
    """The refresh token the browser sent as its cookie, if any."""
    return request.COOKIES.get(REFRESH_COOKIE) or None


def cookie_mode(request, delivery: str | None) -> bool:
    """Cookie when asked for, or when the request came with the cookie and asked nothing."""
    return delivery == "cookie" or (delivery is None and presented(request) is not None)


def _secure(request) -> bool:
    return request.is_secure() or settings.ATELIER_ENV not in ("development", "test")


def pair_response(request, pair, *, in_cookie: bool) -> Response:
    """The token pair in the body, or the access token in the body and the refresh token in
    the cookie."""
    if not in_cookie:
        return Response({"access": pair.access, "refresh": pair.refresh}, headers=NO_STORE)
    response = Response({"access": pair.access}, headers=NO_STORE)
    response.set_cookie(
        REFRESH_COOKIE, pair.refresh, max_age=int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()),
        path=COOKIE_PATH, secure=_secure(request), httponly=True, samesite="Strict",
    )
    return response


def forget(request, response: Response) -> Response:
    """Removes the cookie (logout, a refresh token that no longer works)."""
    if presented(request) is not None:
        response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, samesite="Strict")
    return response
