from django.apps import AppConfig


class AtelierDjangoConfig(AppConfig):
    """Installed only for its one table: the admin login failure counters (admin_throttle)."""

    name = "atelier_django"
    label = "atelier_django"
    default_auto_field = "django.db.models.BigAutoField"
