from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "signing"
    verbose_name = "Token signing"

    def ready(self) -> None:
        from .keys import file_key

        # Fail at start, not on the first login: a missing or bad key is a deployment error.
        file_key()
