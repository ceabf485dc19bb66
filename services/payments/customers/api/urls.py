from django.urls import re_path

from .views import AccountView

urlpatterns = [
    re_path(r"^account/?$", AccountView.as_view(), name="account"),
]
