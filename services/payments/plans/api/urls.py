from django.urls import re_path

from .views import PlanListView

urlpatterns = [
    re_path(r"^plans/?$", PlanListView.as_view(), name="plan-list"),
]
