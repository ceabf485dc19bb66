"""Health probes and the JSON answers for errors raised outside DRF views."""
from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from common.errors import error_body
from common.views import JsonApiView

log = logging.getLogger(__name__)


class HealthzView(JsonApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"status": "ok"})


class ReadyzView(JsonApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any database failure means not ready
            log.warning("readiness check failed: %s", exc)
            return Response({"status": "unavailable", "checks": {"database": "down"}}, status=503)
        return Response({"status": "ok", "checks": {"database": "ok"}})


def bad_request(request, exception=None):
    return JsonResponse(error_body("bad_request", "the request could not be understood"), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(error_body("permission_denied", "you may not do this"), status=403)


def not_found(request, exception=None):
    return JsonResponse(error_body("not_found", f"no route for {request.path}"), status=404)


def server_error(request):
    return JsonResponse(error_body("internal_error", "something went wrong on our side"), status=500)


class OpenApiView(JsonApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        from .openapi import document

        return Response(document(), headers={"Cache-Control": "public, max-age=300"})
