"""Liveness and readiness, outside DRF so they need no token and no content negotiation."""
from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from atelier_django.errors import error_body

logger = logging.getLogger(__name__)


def _method_not_allowed(request) -> JsonResponse | None:
    if request.method in ("GET", "HEAD"):
        return None
    response = JsonResponse(error_body("method_not_allowed", f"{request.method} is not allowed here"), status=405)
    response["Allow"] = "GET, HEAD"
    return response


# csrf_exempt so a POST gets the JSON 405, not Django's HTML CSRF page.
@csrf_exempt
def healthz(request) -> JsonResponse:
    return _method_not_allowed(request) or JsonResponse({"status": "ok"})


@csrf_exempt
def readyz(request) -> JsonResponse:
    refused = _method_not_allowed(request)
    if refused:
        return refused
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("readyz: database unreachable: %s", exc)
        return JsonResponse(error_body("not_ready", "database unreachable"), status=503)
    return JsonResponse({"status": "ready", "checks": {"database": "ok"}})
