"""The public edge of Atelier: routes /api and /admin to the services, checks user tokens
where the routing table asks for them, serves signed files and the single-page app."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import redis
import redis.asyncio as aioredis
from atelier_identity import TokenVerifier
from atelier_kit.addresses import Networks
from atelier_kit.logs import configure_logging
from atelier_kit.tracing import setup_tracing
from atelier_kit.tracing_asgi import TracingMiddleware
from atelier_storage import storage_from_env
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from .api.routes import admin_home, docs, files, health, proxy, spa
from .apikeys import ApiKeyExchange, Revoker
from .config import Settings
from .errors import install_error_handlers
from .facades import a1111, openai as openai_facade
from .inflight import InFlightLimiter
from .middleware import EdgeMiddleware, Metrics
from .ratelimit import RateLimiter
from .revocations import RevocationListener
from .session_revocations import SessionRevoker
from .streams import StreamSlots
from .upstream import make_session
from .routing import build_routing_table


def _route_label(table):
    def label(path: str) -> str:
        route = table.match(path)
        if route is not None:
            return route.name
        if path.startswith("/files/"):
            return "files"
        if path.startswith("/assets/"):
            return "assets"
        if path in ("/healthz", "/readyz", "/metrics"):
            return path.lstrip("/")
        if path in docs.PATHS:
            return "docs"
        if path in admin_home.PATHS:
            return "admin_home"
        if path.startswith("/v1/"):
            return "facade_openai"
        if path.startswith("/sdapi/"):
            return "facade_a1111"
        return "api_unknown" if proxy.is_api_path(path) else "spa"
    return label


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    table = build_routing_table(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(
            # Never read proxy settings from the environment: upstreams are internal addresses.
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(30.0, connect=settings.gateway_upstream_connect_timeout_s),
            limits=httpx.Limits(
                max_connections=settings.gateway_upstream_max_connections,
                # Keep every connection: at full concurrency a smaller idle pool means reconnecting.
                max_keepalive_connections=settings.gateway_upstream_max_connections,
                keepalive_expiry=30.0,
            ),
        )
        keepalive = settings.gateway_upstream_keepalive_s
        app.state.upstream = make_session(settings.gateway_upstream_max_connections, keepalive_s=keepalive)
        # Event streams get their own pool: however many are open, ordinary requests still find connections.
        app.state.upstream_streams = make_session(settings.gateway_stream_max_connections, keepalive_s=keepalive)
        redis_timeouts = {"socket_timeout": settings.gateway_readiness_timeout_s,
                          "socket_connect_timeout": settings.gateway_readiness_timeout_s}
        app.state.redis = aioredis.Redis.from_url(settings.atelier_redis_url, **redis_timeouts)
        app.state.apikeys = ApiKeyExchange(
            redis=app.state.redis, http=app.state.http, auth_url=settings.auth_url,
            internal_token=settings.atelier_internal_token, prefix=settings.atelier_redis_prefix,
            negative_ttl_s=settings.gateway_apikey_negative_cache_s,
        )
        app.state.rate_limiter = RateLimiter(
            app.state.redis, prefix=settings.atelier_redis_prefix,
            limit=settings.auth_rate_limit(), window_s=settings.gateway_auth_rate_window_s,
        )
        app.state.stream_slots = StreamSlots(
            app.state.redis, prefix=settings.atelier_redis_prefix, per_user=settings.gateway_streams_per_user,
            per_key=settings.gateway_streams_per_key, lease_s=settings.gateway_stream_lease_s,
        )
        sync_redis = redis.Redis.from_url(settings.atelier_redis_url, **redis_timeouts)
        app.state.revocations = RevocationListener(
            settings.atelier_amqp_url, Revoker(sync_redis, settings.atelier_redis_prefix),
            SessionRevoker(sync_redis, settings.atelier_redis_prefix, settings.gateway_revocation_ttl_s),
        )
        app.state.revocations.start()
        try:
            yield
        finally:
            await app.state.revocations.stop()
            sync_redis.close()
            await app.state.upstream.close()
            await app.state.upstream_streams.close()
            await app.state.http.aclose()
            await app.state.redis.aclose()

    configure_logging("gateway", "api", logger="gateway")
    setup_tracing("gateway", "api")
    app = FastAPI(title="Atelier gateway", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.routing_table = table
    app.state.verifier = TokenVerifier(settings.atelier_jwks_url, min_refresh_interval_s=settings.atelier_jwks_min_refresh_s,
                                       refresh_interval_s=settings.atelier_jwks_refresh_s)
    # ATELIER_STORAGE_BACKEND picks filesystem or s3, as for pre_inference and the worker.
    app.state.storage = storage_from_env(directory=settings.atelier_storage_dir)
    app.state.metrics = Metrics()
    app.state.in_flight = InFlightLimiter(settings.gateway_user_max_in_flight)
    install_error_handlers(app)
    origins = settings.cors_origins()
    if origins:
        # Inside the edge middleware, so preflight answers carry the request id and security headers too.
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_credentials=False, allow_methods=proxy.METHODS,
            allow_headers=["authorization", "content-type", "x-api-key", "x-request-id", "last-event-id"],
            expose_headers=["x-request-id", "retry-after", "ratelimit", "ratelimit-policy", "location"],
            max_age=600,
        )
    app.add_middleware(EdgeMiddleware, metrics=app.state.metrics, route_label=_route_label(table),
                       trusted_proxies=Networks(settings.trusted_proxies()),
                       hsts_max_age_s=settings.gateway_hsts_max_age_s, hsts_always=settings.gateway_hsts_always)
    # Outermost: the request's span encloses everything the edge does, and its logs carry trace_id.
    app.add_middleware(TracingMiddleware, route_label=_route_label(table), edge=True)
    # Order matters: the catch-all dispatcher must come last.
    for module in (health, docs, admin_home, files, spa, a1111, openai_facade):
        app.include_router(module.router)
    app.router.routes.append(proxy.CATCH_ALL)
    return app


app = create_app()
