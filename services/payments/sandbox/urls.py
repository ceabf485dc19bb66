from django.urls import re_path

from .views import checkout_page

urlpatterns = [
    re_path(r"^checkout/(?P<session_id>[^/]{1,100})/?$", checkout_page, name="sandbox-checkout"),
]
