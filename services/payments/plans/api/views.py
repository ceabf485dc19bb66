from atelier_django.permissions import Public
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services import public_credit_packs, public_plans
from .serializers import CreditPackSerializer, PlanSerializer


class PlanListView(APIView):
    """Public: the pricing page is shown before anyone signs in, so no token is read."""

    authentication_classes = ()
    permission_classes = (Public,)

    @extend_schema(responses=inline_serializer("Catalogue", {
        "plans": PlanSerializer(many=True), "credit_packs": CreditPackSerializer(many=True)}))
    def get(self, request: Request) -> Response:
        return Response({
            "plans": PlanSerializer(public_plans(), many=True).data,
            "credit_packs": CreditPackSerializer(public_credit_packs(), many=True).data,
        })
