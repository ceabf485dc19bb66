"""The HTTP metrics every API service exports (``atelier_http_*`` in
infra/monitoring/catalogue.toml), the rules for their label values, and the exposition of
/metrics, written once for both faces (``metrics_asgi`` for FastAPI, ``metrics_django``).

Label values must stay bounded: ``route`` is the route *template* the framework matched
(``/api/v1/jobs/{job_id}``), ``unmatched`` when none did, never the raw path; an unknown
method becomes ``OTHER``. A raw path or method would let any client mint new time series.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import threading

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Same spread as the gateway's, so service and edge latencies line up on one dashboard.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "atelier_http_requests_total", "Requests answered by a service, by route template (never the raw path)",
    ["service", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "atelier_http_request_duration_seconds", "Time to answer a request",
    ["service", "route", "method"], buckets=DURATION_BUCKETS,
)


def method_label(method: str | None) -> str:
    method = (method or "").upper()
    return method if method in KNOWN_METHODS else "OTHER"


def route_label(template: str | None) -> str:
    """The matched template, with a leading slash (Django's patterns have none), or
    ``unmatched``."""
    if not template:
        return UNMATCHED_ROUTE
    return template if template.startswith("/") else "/" + template


def observe_request(service: str, route: str | None, method: str | None, status: int, seconds: float) -> None:
    route, method = route_label(route), method_label(method)
    HTTP_REQUESTS.labels(service, route, method, str(int(status))).inc()
    HTTP_DURATION.labels(service, route, method).observe(max(seconds, 0.0))


def exposition(*extra: CollectorRegistry) -> tuple[bytes, str]:
    """The /metrics body and its content type. Under a multi-worker server
    (PROMETHEUS_MULTIPROC_DIR set) the workers' files are added up, so a scrape sees the
    service, not whichever worker answered. ``extra`` registries (scrape-time collectors
    of one app) are appended; their metric names must not repeat the main ones."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + b"".join(generate_latest(r) for r in extra)
    return body, CONTENT_TYPE_LATEST


def is_internal_address(host: str | None) -> bool:
    """Scrapers sit on loopback or the private network; anything else gets a 404."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


# --- processes without HTTP of their own (relays, consumers, workers) ---------------------
_log = logging.getLogger("atelier.metrics")

METRICS_PORT_ENV = "ATELIER_METRICS_PORT"
# Loopback by default: on one machine nothing else needs the figures. In a container the
# scraper is another container or pod: ATELIER_METRICS_HOST=0.0.0.0 there (private network only).
METRICS_HOST = "127.0.0.1"
METRICS_HOST_ENV = "ATELIER_METRICS_HOST"
_served_lock = threading.Lock()
_served_port: int | None = None


def serve_metrics_from_env(environ: dict[str, str] | None = None) -> int | None:
    """Serve /metrics on $ATELIER_METRICS_HOST (127.0.0.1 unless set):$ATELIER_METRICS_PORT for a
    process without HTTP of its own.

    Returns the port, or None when the variable is unset or the port cannot be had. Calling it
    again in the same process is harmless (a relay and a consumer helper may both ask). A port
    already taken only costs the metrics, never the process: its real work goes on.
    """
    global _served_port
    env = environ if environ is not None else os.environ
    host = env.get(METRICS_HOST_ENV, "").strip() or METRICS_HOST
    value = env.get(METRICS_PORT_ENV, "").strip()
    if not value:
        return None
    try:
        port = int(value)
    except ValueError:
        _log.warning("%s=%r is not a port number; serving no metrics", METRICS_PORT_ENV, value)
        return None
    with _served_lock:
        if _served_port is not None:
            return _served_port
        from prometheus_client import start_http_server

        try:
            start_http_server(port, addr=host)
        except OSError as exc:
            _log.warning("cannot serve metrics on %s:%d (%s); going on without them", host, port, exc)
            return None
        _served_port = port
    _log.info("metrics on http://%s:%d/metrics", host, port)
    return port
