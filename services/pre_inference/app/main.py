"""The pre_inference HTTP API.

    cd services/pre_inference && ../../.venv/bin/uvicorn app.main:app --host 127.0.0.1 --port 8103
"""
from __future__ import annotations


from contextlib import asynccontextmanager
from typing import AsyncIterator

from atelier_identity import TokenVerifier
from atelier_kit.logs import configure_logging
from atelier_kit.metrics_asgi import HttpMetricsMiddleware
from atelier_kit.tracing import setup_tracing
from atelier_kit.tracing_asgi import TracingMiddleware
from atelier_kit.strict_json import JsonLimits
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from atelier_storage import storage_from_env

from app.adapters.db import make_async_engine, make_async_sessionmaker
from app.adapters.job_changes import JobChangeHub
from app.adapters.notify import AsyncNotifier
from app.adapters.ratelimit import RateLimiter, make_redis
from app.adapters.storage import ImageUrlSigner
from app.adapters.webhook_secrets import secret_box
from app.api.body_limit import BodySizeLimit
from app.api.errors import install_error_handlers
from app.api.job_gauges import JobGaugeCollector
from app.api.routes import health, images, job_views, jobs, models, staff, tiers, usage, webhooks
from app.api.stream_slots import StreamSlots
from app.config import Settings, get_settings
from app.domain.policy import load_policy

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings and a verifier holding test keys."""
    settings = settings or get_settings()
    # Made here, not in the lifespan, so an app driven without lifespan events (httpx's
    # ASGITransport in tests) is complete; the engine connects lazily anyway.
    engine = make_async_engine(settings)
    redis_client = make_redis(settings.atelier_redis_url)
    # Loaded (and validated) at start: a broken policy file stops the process, not a request.
    tier_policy = load_policy(settings.pre_inference_tier_policy_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.job_changes.close()
        await redis_client.aclose()
        await engine.dispose()

    app = FastAPI(
        title="Atelier pre_inference",
        version="1.0.0",
        summary="Admits image-generation jobs and reports their progress and images.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    app.state.sessionmaker = make_async_sessionmaker(engine)
    app.state.verifier = verifier or TokenVerifier(settings.atelier_jwks_url)
    app.state.signer = ImageUrlSigner(settings.atelier_storage_signing_key, settings.pre_inference_image_url_ttl_s)
    app.state.tier_policy = tier_policy
    app.state.redis = redis_client
    app.state.rate_limiter = RateLimiter(redis_client, settings.atelier_redis_prefix)
    app.state.notifier = AsyncNotifier(redis_client, settings.atelier_redis_prefix)
    app.state.job_changes = JobChangeHub(redis_client, settings.atelier_redis_prefix)
    app.state.stream_slots = StreamSlots(settings.pre_inference_max_streams_per_user)
    # Encrypts webhook signing secrets (the deliverer, in the consumer process, decrypts them).
    app.state.webhook_secrets = secret_box(settings)
    # ATELIER_STORAGE_BACKEND picks filesystem or s3, as for the gateway and the worker.
    app.state.storage = storage_from_env(directory=settings.atelier_storage_dir)
    # Job bodies carry uploads as base64: the byte bound is the body limit's, depth and counts the platform's.
    app.state.json_limits = JsonLimits(max_bytes=settings.pre_inference_max_body_bytes)
    # Scrape-time gauges read this app's database: a registry per app (tests build many).
    app.state.job_gauges = JobGaugeCollector(app.state.read_engine)
    app.state.metrics_registry = CollectorRegistry()
    app.state.metrics_registry.register(app.state.job_gauges)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.pre_inference_max_body_bytes)
    # Added last, so outermost: it sees the status of every answer, 413s included.
    app.add_middleware(HttpMetricsMiddleware, service="pre_inference")
    # Outermost: continues the gateway's traceparent; a no-op while tracing is off.
    app.add_middleware(TracingMiddleware)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(job_views.router)
    app.include_router(images.router)
    app.include_router(usage.router)
    app.include_router(staff.router)
    app.include_router(tiers.router)
    app.include_router(webhooks.router)
    app.include_router(models.router)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` builds the app on first access, so importing this module
    # (tests, tooling) needs no environment.
    if name == "app":
        configure_logging("pre_inference", "api")
        setup_tracing("pre_inference", "api")
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
