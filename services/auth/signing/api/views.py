from __future__ import annotations

from rest_framework.response import Response

from common import attempts
from common.views import JsonApiView, correlation_id
from signing import keys, services
from signing.authentication import PUBLIC

from .serializers import TokenObtainSerializer, TokenPairSerializer, TokenRefreshSerializer


class _Public(JsonApiView):
    authentication_classes: list = []
    permission_classes = PUBLIC


class TokenObtainView(_Public):
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.obtain_token_pair(**serializer.validated_data, address=attempts.client_address(request))
        return Response(TokenPairSerializer(pair).data, headers={"Cache-Control": "no-store"})


class TokenRefreshView(_Public):
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.rotate_refresh_token(serializer.validated_data["refresh"], correlation_id=correlation_id(request))
        return Response(TokenPairSerializer(pair).data, headers={"Cache-Control": "no-store"})


class LogoutView(_Public):
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.logout(serializer.validated_data["refresh"], correlation_id=correlation_id(request))
        return Response(status=204)


class JwksView(_Public):
    def get(self, request):
        # Verifiers cache the set and refetch on an unknown kid, so a short max-age is plenty.
        return Response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})
