from atelier_django.exceptions import ApiError
from atelier_django.permissions import scope_required
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services import customer_for_user
from .serializers import AccountSerializer


class AccountView(APIView):
    """The caller's payments account (default authentication: Bearer access token)."""

    permission_classes = (scope_required("billing:read"),)

    @extend_schema(responses=AccountSerializer)
    def get(self, request: Request) -> Response:
        customer = customer_for_user(request.user.user_id)
        if customer is None:
            # Accounts are made from auth.user.registered; right after sign-up the event
            # may still be on its way, so clients may retry shortly.
            raise ApiError(code="customer_not_found", detail="no payments account for this user yet",
                           status_code=status.HTTP_404_NOT_FOUND)
        return Response(AccountSerializer(customer).data)
