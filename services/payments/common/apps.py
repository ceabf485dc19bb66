from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Payments' own cross-cutting pieces: token authentication, health, messaging tables.
    The error shape, request ids, JSON parsing and scopes are the shared kit's (atelier_django)."""

    name = "common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension
