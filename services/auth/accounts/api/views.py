from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from accounts import services
from signing.authentication import ACCOUNT_MANAGEMENT, PUBLIC, SIGNED_IN
from common.views import JsonApiView

from .views_lifecycle import delete_me
from .serializers import MeSerializer, SignupSerializer, UserSerializer


class SignupView(JsonApiView):
    authentication_classes: list = []
    permission_classes = PUBLIC

    def post(self, request):
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = services.register_user(
            **serializer.validated_data, correlation_id=getattr(request._request, "request_id", None)
        )
        return Response(UserSerializer(registration.user).data, status=status.HTTP_201_CREATED)


class MeView(JsonApiView):
    permission_classes = SIGNED_IN

    def get_permissions(self):
        # Reading the profile is fine with an API key's token; deleting it is not.
        if self.request.method == "DELETE":
            return [permission() for permission in ACCOUNT_MANAGEMENT]
        return super().get_permissions()

    def get(self, request):
        return Response(MeSerializer(request.user).data)

    def delete(self, request):
        return delete_me(request)
