from __future__ import annotations

from rest_framework import exceptions
from rest_framework.response import Response

from common import attempts
from common.views import JsonApiView, correlation_id
from signing import keys, services
from signing.authentication import PUBLIC

from . import session_cookie
from .serializers import TokenObtainSerializer, TokenRefreshSerializer


class _Public(JsonApiView):
    authentication_classes: list = []
    permission_classes = PUBLIC


def _refresh_token(request, data: dict) -> str:
    """The refresh token from the body, else from the browser's cookie."""
    raw = data.get("refresh") or session_cookie.presented(request)
    if not raw:
        raise services.token_invalid("no refresh token: send it, or sign in again")
    return raw


class TokenObtainView(_Public):
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        delivery = data.pop("delivery", None)
        pair = services.obtain_token_pair(**data, address=attempts.client_address(request))
        return session_cookie.pair_response(request, pair, in_cookie=delivery == "cookie")


class TokenRefreshView(_Public):
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        in_cookie = session_cookie.cookie_mode(request, data.get("delivery")) or "refresh" not in data
        try:
            pair = services.rotate_refresh_token(_refresh_token(request, data), correlation_id=correlation_id(request))
        except exceptions.APIException as exc:
            if in_cookie and exc.status_code == 401:
                # A cookie that no longer works is dropped, so the browser stops presenting it.
                return session_cookie.forget(request, self.handle_exception(exc))
            raise
        return session_cookie.pair_response(request, pair, in_cookie=in_cookie)


class LogoutView(_Public):
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.logout(_refresh_token(request, serializer.validated_data), correlation_id=correlation_id(request))
        return session_cookie.forget(request, Response(status=204))


class JwksView(_Public):
    def get(self, request):
        # Verifiers cache the set and refetch on an unknown kid, so a short max-age is plenty.
        return Response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})
