"""Settings for every environment; everything comes from environment variables.

``ATELIER_ENV=production`` turns the development conveniences (default secret key,
self-generated signing key, file e-mail) into start-up errors.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from atelier_django import settings as kit

from . import safety

BASE_DIR = Path(__file__).resolve().parents[2]  # services/auth
REPO_ROOT = BASE_DIR.parents[1]

env = environ.Env()

ATELIER_ENV = safety.atelier_env(os.environ.get("ATELIER_ENV"))
PRODUCTION = ATELIER_ENV == "production"

SECRET_KEY = safety.secret_key(ATELIER_ENV, os.environ.get("AUTH_SECRET_KEY"))
# Debug pages print local variables (secrets among them): only when a developer sets
# AUTH_DEBUG=1 by hand, never in production.
DEBUG = kit.debug(ATELIER_ENV, os.environ.get("AUTH_DEBUG"))
ALLOWED_HOSTS = kit.allowed_hosts(os.environ.get("AUTH_ALLOWED_HOSTS"), ["auth"])
# The admin is reached through the gateway, whose origin differs from ours.
CSRF_TRUSTED_ORIGINS = kit.csrf_trusted_origins(os.environ.get("AUTH_CSRF_TRUSTED_ORIGINS"), os.environ.get("ATELIER_PUBLIC_URL"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "accounts",
    "signing",
    "tiers",
    "apikeys",
    "operations",
    "atelier_django",
]

# Names the service in the atelier_http_* metrics.
ATELIER_SERVICE_NAME = "auth"
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

DATABASES = {
    "default": {
        **env.db_url_config(safety.database_url(os.environ.get("AUTH_DATABASE_URL"))),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
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

# Everything public lives under the gateway's /admin/auth/ and /api/auth/ prefixes;
# cookie names and paths keep our admin session apart from payments' admin.
STATIC_URL = "/admin/auth/static/"
# WhiteNoise serves the admin assets straight from the installed apps, so no collectstatic
# step is needed; AUTH_STATIC_ROOT is only for those who want to collect them anyway.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = env.str("AUTH_STATIC_ROOT", default=None)
SESSION_COOKIE_NAME = "atelier_auth_session"
SESSION_COOKIE_PATH = "/admin/auth/"
CSRF_COOKIE_NAME = "atelier_auth_csrftoken"
CSRF_COOKIE_PATH = "/admin/auth/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
X_FRAME_OPTIONS = "DENY"
# Only the gateway reaches this loopback port; it terminates TLS, redirects to HTTPS and
# sends HSTS, and tells us the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008"]
SECURE_CONTENT_TYPE_NOSNIFF = True

# Request bodies are tiny JSON documents; the JSON parser enforces this too.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
MAX_JSON_BODY_BYTES = 16 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["signing.authentication.AccessTokenAuthentication"],
    # Fail closed: a view that names no scope (atelier_django.permissions) is refused.
    "DEFAULT_PERMISSION_CLASSES": ["atelier_django.permissions.ScopeNotDeclared"],
    "DEFAULT_PARSER_CLASSES": ["atelier_django.strict_json.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.JSONOnlyNegotiation",
    "EXCEPTION_HANDLER": "atelier_django.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# Tokens. simplejwt's own backend is bypassed (signing.tokens) to add the `kid` header;
# these settings still drive its token classes and the blacklist app.
JWT_ISSUER = "atelier-auth"
JWT_AUDIENCE = "atelier"
AUTH_JWT_PRIVATE_KEY_FILE, AUTH_JWT_GENERATE_KEY = safety.private_key_file(
    ATELIER_ENV,
    os.environ.get("AUTH_JWT_PRIVATE_KEY_FILE"),
    str(REPO_ROOT / "var" / "auth" / "jwt-signing-key.pem"),
)
AUTH_JWT_PRIVATE_KEY_FILE = str(REPO_ROOT / AUTH_JWT_PRIVATE_KEY_FILE)  # relative: from the repository root
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": None,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "AUTH_TOKEN_CLASSES": ("signing.tokens.AccessToken",),
}
# Signing keys live in the database (signing.keyring); a retired key verifies for the
# token lifetime plus this margin. AUTH_SECRET_KEY encrypts them at rest.
AUTH_SIGNING_KEY_GRACE_MARGIN = timedelta(seconds=env.int("AUTH_SIGNING_KEY_GRACE_MARGIN_SECONDS", default=300))
AUTH_SIGNING_KEYS_CACHE_SECONDS = env.int("AUTH_SIGNING_KEYS_CACHE_SECONDS", default=30)
AUTH_SIGNING_KEYS_MIN_RELOAD_SECONDS = 1
SECRET_KEY_FALLBACKS = env.list("AUTH_SECRET_KEY_FALLBACKS", default=[])

# Shared with the gateway (introspection) and used to hash API keys.
ATELIER_INTERNAL_TOKEN = safety.shared_secret(ATELIER_ENV, "ATELIER_INTERNAL_TOKEN", os.environ.get("ATELIER_INTERNAL_TOKEN"))
AUTH_API_KEY_PEPPER = safety.shared_secret(ATELIER_ENV, "AUTH_API_KEY_PEPPER", os.environ.get("AUTH_API_KEY_PEPPER"))
API_KEY_TOKEN_LIFETIME = timedelta(seconds=300)
API_KEYS_PER_USER = env.int("AUTH_API_KEYS_PER_USER", default=25)

ATELIER_AMQP_URL = env.str("ATELIER_AMQP_URL", default="amqp://guest:guest@127.0.0.1:5672/atelier")

# Brute-force counters (Redis). The gateway appends the client address to
# X-Forwarded-For; it is believed only when the request comes from a trusted proxy.
ATELIER_REDIS_URL = env.str("ATELIER_REDIS_URL", default="redis://127.0.0.1:6379/0")
ATELIER_REDIS_PREFIX = env.str("ATELIER_REDIS_PREFIX", default="atelier:")
AUTH_TRUSTED_PROXIES = env.list("AUTH_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
# (attempts, window seconds)
AUTH_LOGIN_LIMIT_PER_ACCOUNT = (env.int("AUTH_LOGIN_ATTEMPTS_PER_ACCOUNT", default=10), 900)
AUTH_LOGIN_LIMIT_PER_ADDRESS = (env.int("AUTH_LOGIN_ATTEMPTS_PER_ADDRESS", default=50), 900)
AUTH_RESET_LIMIT_PER_ACCOUNT = (env.int("AUTH_RESET_ATTEMPTS_PER_ACCOUNT", default=5), 3600)
AUTH_RESET_LIMIT_PER_ADDRESS = (env.int("AUTH_RESET_ATTEMPTS_PER_ADDRESS", default=20), 3600)
AUTH_RESEND_LIMIT_PER_ACCOUNT = (env.int("AUTH_RESEND_PER_ACCOUNT", default=5), 3600)
# Django admin login (atelier_django.admin_throttle, counters in this service's database).
ATELIER_TRUSTED_PROXIES = AUTH_TRUSTED_PROXIES
ADMIN_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS = (env.int("AUTH_ADMIN_LOGIN_ATTEMPTS", default=5), 900)
ADMIN_LOGIN_LIMIT_PER_ADDRESS = (env.int("AUTH_ADMIN_LOGIN_ATTEMPTS_PER_ADDRESS", default=50), 900)

# E-mail: one .eml file per message under ATELIER_MAIL_DIR outside production.
# A relative ATELIER_MAIL_DIR is taken from the repository root, as `make up` writes it.
ATELIER_MAIL_DIR = REPO_ROOT / env.str("ATELIER_MAIL_DIR", default="var/mail")
DEFAULT_FROM_EMAIL = env.str("AUTH_FROM_EMAIL", default="Atelier <no-reply@atelier.localhost>")
if PRODUCTION:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("AUTH_EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("AUTH_EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("AUTH_EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("AUTH_EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("AUTH_EMAIL_USE_TLS", default=False)
else:
    EMAIL_BACKEND = "accounts.mail.EmlFileBackend"
# Mail is sent by the Celery worker (accounts.tasks.send_mail), after commit.
EMAIL_TIMEOUT = env.int("AUTH_EMAIL_TIMEOUT_SECONDS", default=10)
# --- Celery (the mail worker: config/celery.py) -------------------------------------
CELERY_BROKER_URL = env.str("AUTH_CELERY_BROKER_URL", default=ATELIER_AMQP_URL)
CELERY_TASK_DEFAULT_QUEUE = "auth"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "requeue-unsent-mail": {"task": "accounts.tasks.requeue_unsent_mail", "schedule": 300.0},
}
PASSWORD_RESET_TTL = timedelta(minutes=env.int("AUTH_PASSWORD_RESET_TTL_MINUTES", default=60))
PUBLIC_BASE_URL = env.str("ATELIER_PUBLIC_URL", default="http://localhost:8000")
# The admin's Jobs and images page asks pre_inference's staff API (accounts.staff_jobs).
PRE_INFERENCE_URL = env.str("PRE_INFERENCE_URL", default="http://127.0.0.1:8103").rstrip("/")
AUTH_STAFF_API_TIMEOUT_S = env.float("AUTH_STAFF_API_TIMEOUT_S", default=5.0)
EMAIL_VERIFICATION_TTL = timedelta(hours=env.int("AUTH_EMAIL_VERIFICATION_TTL_HOURS", default=48))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "atelier_django.request_ids.RequestIdLogFilter"}},
    "formatters": {"json": {"()": "atelier_kit.logs.JsonLogFormatter", "service": "auth"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("AUTH_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
