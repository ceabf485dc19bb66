from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting pieces: error shape, token authentication, health, messaging tables."""

    name = "common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension
