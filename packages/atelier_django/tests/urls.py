"""Routes the kit's unit tests drive through Django's test client."""
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from atelier_django.permissions import Public


def crash(request):
    secret = "whsec_do_not_show_me"  # noqa: F841 - a local a debug page would print
    raise RuntimeError("boom")


class Echo(APIView):
    permission_classes = (Public,)

    def post(self, request):
        return Response({"received": request.data})


class Undeclared(APIView):
    def get(self, request):
        return Response({"open": True})


urlpatterns = [
    path("crash", crash),
    path("echo", Echo.as_view()),
    path("undeclared", Undeclared.as_view()),
]

handler400 = "atelier_django.json_errors.handler400"
handler404 = "atelier_django.json_errors.handler404"
handler500 = "atelier_django.json_errors.handler500"
