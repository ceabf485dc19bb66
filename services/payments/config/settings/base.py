"""Settings for the payments service, every value from the environment.

With ATELIER_ENV=production the service refuses to start on a missing, short or
development secret key, and DEBUG is off whatever else is set.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

ATELIER_ENV = env.str("ATELIER_ENV", default="development")
if ATELIER_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"ATELIER_ENV must be development, test or production, not {ATELIER_ENV!r}")
PRODUCTION = ATELIER_ENV == "production"

DEV_SECRET_KEY = "dev-insecure-payments-secret-key-change-me"
MIN_SECRET_KEY_LENGTH = 32


def _secret_key() -> str:
    key = env.str("PAYMENTS_SECRET_KEY", default="")
    if not PRODUCTION:
        return key or DEV_SECRET_KEY
    if not key:
        raise ImproperlyConfigured("PAYMENTS_SECRET_KEY is required when ATELIER_ENV=production")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(f"PAYMENTS_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters in production")
    lowered = key.lower()
    if key == DEV_SECRET_KEY or lowered.startswith(("dev", "django-insecure")) or "insecure" in lowered or "change-me" in lowered:
        raise ImproperlyConfigured("PAYMENTS_SECRET_KEY looks like a development default; set a random secret")
    return key


SECRET_KEY = _secret_key()
DEBUG = False if PRODUCTION else env.bool("PAYMENTS_DEBUG", default=ATELIER_ENV == "development")

# The service listens on loopback only and is reached through the gateway, which may
# forward the public Host header; narrow this with PAYMENTS_ALLOWED_HOSTS where it helps.
ALLOWED_HOSTS = env.list("PAYMENTS_ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list(
    "PAYMENTS_CSRF_TRUSTED_ORIGINS", default=["http://localhost:8000", "http://127.0.0.1:8000"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "common",
    "customers",
    "plans",
    "ledger",
    "billing",
    "sandbox",
]

MIDDLEWARE = [
    "common.correlation.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["common.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
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


# JSON lines (the formatter shared with the messaging processes), with the correlation id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "common.correlation.CorrelationIdFilter"}},
    "formatters": {"json": {"()": "atelier_messaging.logs.JsonFormatter", "process_name": "payments"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["correlation"]}},
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
if PRODUCTION:
    if PAYMENTS_PROVIDER == "sandbox" and (len(PAYMENTS_SANDBOX_WEBHOOK_SECRET) < MIN_SECRET_KEY_LENGTH
                                           or "insecure" in PAYMENTS_SANDBOX_WEBHOOK_SECRET):
        raise ImproperlyConfigured("PAYMENTS_SANDBOX_WEBHOOK_SECRET must be a random secret in production")
    if PAYMENTS_PROVIDER == "stripe" and not (PAYMENTS_STRIPE_WEBHOOK_SECRET and PAYMENTS_STRIPE_API_KEY):
        raise ImproperlyConfigured("PAYMENTS_STRIPE_WEBHOOK_SECRET and PAYMENTS_STRIPE_API_KEY are required for stripe")
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
