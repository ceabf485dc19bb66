"""The sandbox's hosted checkout page: plain server-rendered HTML, reached through the
gateway at /api/payments/sandbox/checkout/<session id>.

CSRF: Django's CSRF cookie is scoped to /admin/payments/, so this page carries its own
double-submit token: a random HttpOnly, SameSite=Strict cookie scoped to the sandbox path,
and a form field that is an HMAC of that cookie and the session id. A cross-site form
post has neither the cookie nor a way to compute the field.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services
from .models import SandboxSession

COOKIE = "sandbox_checkout_csrf"
COOKIE_PATH = "/api/payments/sandbox/"
SESSION_ID = re.compile(r"^cs_sandbox_[0-9a-f]{24}$")
CARD = re.compile(r"^[0-9]{12,19}$", re.ASCII)
COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")
FORM_TOKEN_SHAPE = re.compile(r"[0-9a-f]{64}")
TEST_CARDS = (
    (services.CARD_SUCCEEDS, "succeeds"),
    (services.CARD_DECLINED, "is declined"),
    (services.CARD_FAILS_LATER, "succeeds, then fails at renewal"),
)


def _form_token(cookie: str, session_id: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"sandbox-checkout:{cookie}:{session_id}".encode(),
                    hashlib.sha256).hexdigest()


def _page(request: HttpRequest, session: SandboxSession | None, *, status: int = 200, error: str = "",
          cookie: str | None = None) -> HttpResponse:
    cookie = cookie or request.COOKIES.get(COOKIE) or ""
    if not COOKIE_SHAPE.fullmatch(cookie):
        cookie = secrets.token_urlsafe(32)
    context = {"session": session, "error": error, "cards": TEST_CARDS,
               "token": _form_token(cookie, session.id) if session else "",
               "amount": f"{session.amount_cents / 100:.2f} {session.currency}" if session else "",
               "success_url": f"{settings.PUBLIC_URL}/billing?checkout=success",
               "cancel_url": f"{settings.PUBLIC_URL}/billing?checkout=canceled"}
    response = render(request, "sandbox/checkout.html", context, status=status)
    response.set_cookie(COOKIE, cookie, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=settings.SESSION_COOKIE_SECURE, max_age=3600)
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    return response


def _token_matches(cookie: str, session_id: str, sent: str) -> bool:
    """The form field against the cookie. Both are the caller's text: only the shapes we
    issue are compared, and as bytes (compare_digest raises TypeError on non-ASCII str)."""
    if not COOKIE_SHAPE.fullmatch(cookie) or not FORM_TOKEN_SHAPE.fullmatch(sent):
        return False
    return hmac.compare_digest(_form_token(cookie, session_id).encode("ascii"), sent.encode("ascii"))


@csrf_exempt  # the double-submit check below replaces Django's (see the module docstring)
@require_http_methods(["GET", "POST"])
def checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    session = SandboxSession.objects.filter(pk=session_id).first() if SESSION_ID.match(session_id) else None
    if session is None:
        return _page(request, None, status=404, error="This checkout does not exist.")
    if request.method == "GET":
        return _page(request, session)

    cookie = request.COOKIES.get(COOKIE, "")
    sent = request.POST.get("csrf_token", "")
    if not _token_matches(cookie, session.id, sent):
        return _page(request, session, status=403, error="This form expired or came from another site. Try again.")
    if session.status != "open":
        return _page(request, session, status=409, error="This checkout has already been paid.")
    # ASCII whitespace only: \s and [0-9] are Unicode-aware, and a card is ASCII digits.
    card = re.sub(r"[ \t\r\n-]", "", request.POST.get("card_number", "")[:80])[:40]
    if not CARD.match(card):
        return _page(request, session, status=400, error="Enter a card number (digits only).")
    try:
        services.pay(session.id, card)
    except services.CardDeclined as exc:
        return _page(request, session, status=402, error=str(exc))
    except services.SessionClosed:
        return _page(request, session, status=409, error="This checkout is closed (paid or expired).")
    response = HttpResponse(status=303)
    response["Location"] = f"{settings.PUBLIC_URL}/billing?checkout=success"
    return response
