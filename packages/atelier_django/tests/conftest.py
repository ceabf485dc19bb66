"""Unit tests of the kit: a minimal Django configuration, no database."""
import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="kit-unit-tests-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="tests.urls",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "atelier_django"],
        MIDDLEWARE=["atelier_django.request_ids.RequestIdMiddleware", "atelier_django.json_errors.JsonErrorsMiddleware",
                    "django.middleware.common.CommonMiddleware"],
        DATABASES={},
        REST_FRAMEWORK={
            "DEFAULT_PARSER_CLASSES": ["atelier_django.strict_json.StrictJSONParser"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PERMISSION_CLASSES": ["atelier_django.permissions.ScopeNotDeclared"],
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "EXCEPTION_HANDLER": "atelier_django.exceptions.exception_handler",
            "UNAUTHENTICATED_USER": None,
        },
        DEFAULT_EXCEPTION_REPORTER="atelier_django.json_errors.QuietExceptionReporter",
        USE_TZ=True,
    )
    django.setup()
