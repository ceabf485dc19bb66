"""The error classes and handler now live in the shared kit (atelier_django.exceptions),
one copy for auth and payments. Re-exported here because auth's apps import them from
``common.errors``; new code should import from ``atelier_django.exceptions``."""
from atelier_django.errors import error_body, flatten_fields
from atelier_django.exceptions import (ApiError, Conflict, PayloadTooLarge, UnsupportedMediaType, describe,
                                       exception_handler)

__all__ = ["ApiError", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "describe", "error_body",
           "exception_handler", "flatten_fields"]
