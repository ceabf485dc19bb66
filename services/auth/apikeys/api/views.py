from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import status
from rest_framework.response import Response

from apikeys import services
from apikeys.models import ApiKey
from signing.authentication import ACCOUNT_MANAGEMENT, PUBLIC
from common.errors import ApiError
from common.views import JsonApiView, correlation_id

from .serializers import ApiKeyCreateSerializer, ApiKeyRotateSerializer, ApiKeySerializer, IntrospectSerializer

NO_STORE = {"Cache-Control": "no-store"}


def _issued(issued: services.IssuedKey) -> dict:
    data = ApiKeySerializer(issued.key).data
    return {**data, "secret": issued.secret}


class ApiKeyListView(JsonApiView):
    permission_classes = ACCOUNT_MANAGEMENT

    def get(self, request):
        keys = ApiKey.objects.filter(user=request.user).select_related("user")
        return Response({"items": ApiKeySerializer(keys, many=True).data})

    def post(self, request):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.create_key(request.user, **serializer.validated_data, correlation_id=correlation_id(request))
        return Response(_issued(issued), status=status.HTTP_201_CREATED, headers=NO_STORE)


class ApiKeyDetailView(JsonApiView):
    permission_classes = ACCOUNT_MANAGEMENT

    def delete(self, request, key_id):
        services.revoke_key(request.user, key_id, correlation_id=correlation_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyRotateView(JsonApiView):
    permission_classes = ACCOUNT_MANAGEMENT

    def post(self, request, key_id):
        serializer = ApiKeyRotateSerializer(data=request.data if request.data else {})
        serializer.is_valid(raise_exception=True)
        issued = services.rotate_key(request.user, key_id, **serializer.validated_data, correlation_id=correlation_id(request))
        return Response(_issued(issued), status=status.HTTP_201_CREATED, headers=NO_STORE)


class InternalTokenRequired(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"  # the code agreed with the gateway
    default_detail = "a valid X-Internal-Token is required"


class IntrospectView(JsonApiView):
    """Internal: the gateway exchanges an API key for a short-lived JWT. Never routed
    by the gateway; only a holder of ATELIER_INTERNAL_TOKEN may call it."""

    authentication_classes: list = []
    permission_classes = PUBLIC

    def initial(self, request, *args, **kwargs):
        # Before parsing anything: without the token nothing else is worth an answer.
        given = request.META.get("HTTP_X_INTERNAL_TOKEN", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), settings.ATELIER_INTERNAL_TOKEN.encode("utf-8")):
            raise InternalTokenRequired()
        super().initial(request, *args, **kwargs)

    def post(self, request):
        serializer = IntrospectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.introspect(serializer.validated_data["key"])
        return Response(
            {"access": result.access, "expires_in": result.expires_in, "key_id": str(result.key.pk), "user_id": str(result.key.user_id)},
            headers=NO_STORE,
        )
