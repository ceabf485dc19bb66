"""Settings for the payments service, every value from the environment.

With ATELIER_ENV=production the service refuses to start on a missing, short or
development secret key, and DEBUG is off whatever else is set.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import environ
from atelier_django import settings as kit
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

ATELIER_ENV = kit.atelier_env(os.environ.get("ATELIER_ENV"))
PRODUCTION = ATELIER_ENV == "production"

DEV_SECRET_KEY = "dev-insecure-payments-secret-key-change-me"
MIN_SECRET_KEY_LENGTH = 50
SECRET_KEY = kit.secret(ATELIER_ENV, "PAYMENTS_SECRET_KEY", os.environ.get("PAYMENTS_SECRET_KEY"),
                        development_default=DEV_SECRET_KEY, min_length=MIN_SECRET_KEY_LENGTH)
# Debug pages print local variables (secrets among them): only when a developer sets
# PAYMENTS_DEBUG=1 by hand, never by default, never in production.
DEBUG = kit.debug(ATELIER_ENV, os.environ.get("PAYMENTS_DEBUG"))

# Loopback plus the internal name; the gateway forwards requests with the upstream Host.
ALLOWED_HOSTS = kit.allowed_hosts(os.environ.get("PAYMENTS_ALLOWED_HOSTS"), ["payments"])
CSRF_TRUSTED_ORIGINS = kit.csrf_trusted_origins(os.environ.get("PAYMENTS_CSRF_TRUSTED_ORIGINS"), os.environ.get("ATELIER_PUBLIC_URL"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "atelier_django",
    "common",
    "customers",
    "plans",
    "ledger",
    "billing",
    "sandbox",
]

# Names the service in the atelier_http_* metrics.
ATELIER_SERVICE_NAME = "payments"
MIDDLEWARE = [
    # Outermost: the request's span (continuing the gateway's traceparent) encloses everything.
    "atelier_kit.tracing_django.TracingMiddleware",
    # First: times and labels what the client finally gets.
    "atelier_kit.metrics_django.HttpMetricsMiddleware",
    "atelier_django.request_ids.RequestIdMiddleware",
    "atelier_django.json_errors.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "atelier_django.admin_throttle.AdminLoginThrottleMiddleware",
]
# Even a DEBUG page for an exception outside a view shows no frames, locals or settings.
DEFAULT_EXCEPTION_REPORTER = "atelier_django.json_errors.QuietExceptionReporter"
CSRF_FAILURE_VIEW = "atelier_django.json_errors.csrf_failure"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = env.str("PAYMENTS_DATABASE_URL", default="")
    if not url:
        raise ImproperlyConfigured("PAYMENTS_DATABASE_URL is required (postgresql://role:pw@host:port/db)")
    config = environ.Env.db_url_config(url)
    # No schema names anywhere: the role's search_path is its own `payments` schema.
    config.update(CONN_MAX_AGE=env.int("PAYMENTS_DB_CONN_MAX_AGE", default=60), CONN_HEALTH_CHECKS=True)
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Admin and its static files live under /admin/payments/ so the gateway can route the
# whole prefix here; cookies get their own names and path so they never collide with
# the auth service's admin on the same origin.
STATIC_URL = "/admin/payments/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The skeleton runs without collectstatic; whitenoise serves app static files directly,
# and STATIC_ROOT only exists once collectstatic has run (container images).
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
SESSION_COOKIE_NAME = "payments_sessionid"
SESSION_COOKIE_PATH = "/admin/payments/"
CSRF_COOKIE_NAME = "payments_csrftoken"
CSRF_COOKIE_PATH = "/admin/payments/"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("PAYMENTS_SECURE_COOKIES", default=PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# TLS, HSTS and the HTTPS redirect belong to the edge (gateway / ingress); this port is internal.
SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008"]

ATELIER_AMQP_URL = env.str("ATELIER_AMQP_URL", default="amqp://guest:guest@127.0.0.1:5672/atelier")
ATELIER_JWKS_URL = env.str("ATELIER_JWKS_URL", default="http://127.0.0.1:8101/api/auth/.well-known/jwks.json")

# Staff log into the admin with their auth account (common.staff_backend): auth checks the
# password and says who is staff; no password is kept here. Staff sessions last a working
# day, so someone auth stops calling staff loses this admin by the next day at the latest
# (at once if they log in again).
AUTH_URL = env.str("AUTH_URL", default="http://127.0.0.1:8101").rstrip("/")
PAYMENTS_AUTH_TIMEOUT_S = env.float("PAYMENTS_AUTH_TIMEOUT_S", default=5.0)
AUTHENTICATION_BACKENDS = ["common.staff_backend.AuthServiceBackend"]
SESSION_COOKIE_AGE = env.int("PAYMENTS_ADMIN_SESSION_S", default=8 * 3600)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["common.authentication.BearerTokenAuthentication"],
    # Fail closed: a view that declares no scope (atelier_django.permissions) is refused.
    "DEFAULT_PERMISSION_CLASSES": ["atelier_django.permissions.ScopeNotDeclared"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["atelier_django.strict_json.StrictJSONParser"],
    "EXCEPTION_HANDLER": "atelier_django.exceptions.exception_handler",
    # API callers are identities from auth's tokens, never Django users of this service.
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Atelier payments",
    "VERSION": "1.0.0",
    "DESCRIPTION": "Plans, checkout, subscriptions, invoices and the caller's ledger.",
    "SERVE_INCLUDE_SCHEMA": False,
}


# Request bodies are small JSON documents (atelier_django.strict_json bounds size, depth, values).
MAX_JSON_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

# Django admin login: per (username, address) and per address (atelier_django.admin_throttle).
ADMIN_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS = (env.int("PAYMENTS_ADMIN_LOGIN_ATTEMPTS", default=5), 900)
ADMIN_LOGIN_LIMIT_PER_ADDRESS = (env.int("PAYMENTS_ADMIN_LOGIN_ATTEMPTS_PER_ADDRESS", default=50), 900)
# Only the gateway (on loopback) is believed about the client address (X-Forwarded-For).
ATELIER_TRUSTED_PROXIES = env.list("PAYMENTS_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])

# JSON lines (the formatter shared with the messaging processes), with the request id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "atelier_django.request_ids.RequestIdLogFilter"}},
    "formatters": {"json": {"()": "atelier_kit.logs.JsonLogFormatter", "service": "payments"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["stdout"], "level": env.str("PAYMENTS_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pika": {"level": "WARNING"}},
}

# --- Billing ---------------------------------------------------------------------------
PUBLIC_URL = env.str("ATELIER_PUBLIC_URL", default="http://localhost:8000").rstrip("/")
PAYMENTS_URL = env.str("PAYMENTS_URL", default="http://127.0.0.1:8102").rstrip("/")
PAYMENTS_PROVIDER = env.str("PAYMENTS_PROVIDER", default="sandbox")
if PAYMENTS_PROVIDER not in {"sandbox", "stripe"}:
    raise ImproperlyConfigured(f"PAYMENTS_PROVIDER must be sandbox or stripe, not {PAYMENTS_PROVIDER!r}")
DEV_WEBHOOK_SECRET = "dev-insecure-sandbox-webhook-secret"
PAYMENTS_SANDBOX_WEBHOOK_SECRET = env.str("PAYMENTS_SANDBOX_WEBHOOK_SECRET", default="") or (
    "" if PRODUCTION else DEV_WEBHOOK_SECRET)
PAYMENTS_STRIPE_WEBHOOK_SECRET = env.str("PAYMENTS_STRIPE_WEBHOOK_SECRET", default="")
PAYMENTS_STRIPE_API_KEY = env.str("PAYMENTS_STRIPE_API_KEY", default="")
# Empty: Stripe's own API address. Set only to point the client at a local fake server or a proxy.
PAYMENTS_STRIPE_API_BASE = env.str("PAYMENTS_STRIPE_API_BASE", default="")
PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION = env.bool("PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION", default=False)
if PRODUCTION:
    if PAYMENTS_PROVIDER == "sandbox":
        # The sandbox takes any test card: in production it would hand out plans for nothing.
        if not PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION:
            raise ImproperlyConfigured(
                "PAYMENTS_PROVIDER=sandbox accepts fake cards and must not run in production; use stripe, or set "
                "PAYMENTS_ALLOW_SANDBOX_IN_PRODUCTION=1 explicitly for a demo deployment")
        kit.secret(ATELIER_ENV, "PAYMENTS_SANDBOX_WEBHOOK_SECRET", PAYMENTS_SANDBOX_WEBHOOK_SECRET,
                   development_default=DEV_WEBHOOK_SECRET)
    if PAYMENTS_PROVIDER == "stripe":
        if not (PAYMENTS_STRIPE_WEBHOOK_SECRET and PAYMENTS_STRIPE_API_KEY):
            raise ImproperlyConfigured("PAYMENTS_STRIPE_WEBHOOK_SECRET and PAYMENTS_STRIPE_API_KEY are required for stripe")
        kit.secret(ATELIER_ENV, "PAYMENTS_STRIPE_WEBHOOK_SECRET", PAYMENTS_STRIPE_WEBHOOK_SECRET, min_length=16)
# Where the sandbox "provider" delivers its webhooks: this service, directly (not the gateway).
PAYMENTS_SANDBOX_WEBHOOK_URL = env.str(
    "PAYMENTS_SANDBOX_WEBHOOK_URL", default=f"{PAYMENTS_URL}/api/payments/webhooks/sandbox")
PAYMENTS_WEBHOOK_TOLERANCE_S = env.int("PAYMENTS_WEBHOOK_TOLERANCE_S", default=300)
PAYMENTS_PAST_DUE_GRACE_DAYS = env.int("PAYMENTS_PAST_DUE_GRACE_DAYS", default=3)
PAYMENTS_HTTP_TIMEOUT_S = env.float("PAYMENTS_HTTP_TIMEOUT_S", default=10.0)

# --- Celery (worker and beat: config/celery.py) ------------------------------------------
CELERY_BROKER_URL = env.str("PAYMENTS_CELERY_BROKER_URL", default=ATELIER_AMQP_URL)
CELERY_TASK_DEFAULT_QUEUE = "payments"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "renew-due-subscriptions": {"task": "billing.tasks.renew_due_subscriptions", "schedule": 60.0},
    "expire-subscriptions": {"task": "billing.tasks.expire_subscriptions", "schedule": 60.0},
    "redeliver-sandbox-webhooks": {"task": "sandbox.tasks.redeliver_pending_webhooks", "schedule": 60.0},
}
