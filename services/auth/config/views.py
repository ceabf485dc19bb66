"""Health probes and the OpenAPI document. The JSON answers for errors raised outside DRF
views are the shared kit's (atelier_django.json_errors, wired in config/urls.py)."""
from __future__ import annotations

import logging

from atelier_django.permissions import Public
from django.db import connection
from rest_framework.response import Response

from common.views import JsonApiView
from signing.readiness import signing_problem

log = logging.getLogger(__name__)


class HealthzView(JsonApiView):
    authentication_classes: list = []
    permission_classes = (Public,)

    def get(self, request):
        return Response({"status": "ok"})


class ReadyzView(JsonApiView):
    """Ready means able to serve: the database answers and the current signing key signs
    (see signing.readiness). 503 names the reason, for the operator reading the probe."""

    authentication_classes: list = []
    permission_classes = (Public,)

    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any database failure means not ready
            log.warning("readiness check failed: %s", exc)
            return Response({"status": "unavailable", "checks": {"database": "down"}}, status=503)
        problem = signing_problem()
        if problem:
            return Response({"status": "unavailable", "checks": {"database": "ok", "signing": problem.split(":")[0]},
                             "reason": problem}, status=503)
        return Response({"status": "ok", "checks": {"database": "ok", "signing": "ok"}})


class OpenApiView(JsonApiView):
    authentication_classes: list = []
    permission_classes = (Public,)

    def get(self, request):
        from .openapi import document

        return Response(document(), headers={"Cache-Control": "public, max-age=300"})
