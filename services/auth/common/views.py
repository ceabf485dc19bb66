"""Base view for the JSON API."""
from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import APIView

from atelier_django.exceptions import UnsupportedMediaType

_BODY_METHODS = {"POST", "PUT", "PATCH"}


class JsonApiView(APIView):
    def initial(self, request, *args, **kwargs):
        # A wrong method is the same answer for everyone, before authentication is asked for.
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        # DRF quietly treats a body without Content-Type as empty; say what is wrong instead.
        if request.method in _BODY_METHODS and not request.content_type and _has_body(request):
            raise UnsupportedMediaType()
        super().initial(request, *args, **kwargs)

    def get_authenticate_header(self, request):
        # DRF turns a 401 into a 403 on views without authenticators (signup, token
        # refresh); a bad credential there is still a 401 with a challenge.
        return super().get_authenticate_header(request) or 'Bearer realm="atelier"'


def _has_body(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return True


def correlation_id(request) -> str | None:
    """The caller's X-Request-ID (from the gateway), carried into events."""
    return getattr(getattr(request, "_request", request), "request_id", None)
