"""OpenTelemetry traces, off unless asked for, and the W3C ``traceparent`` they travel in.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (spans go there over OTLP/HTTP) or
``ATELIER_TRACING=1`` (spans are made and propagated, exported only if an endpoint is set);
``setup_tracing`` reads that once per process. Off, every helper here returns at its first
line (one global read), so the request and event paths pay nothing measurable: see
``bench/tracing_overhead.py``.

The provider is kept here rather than installed as OpenTelemetry's global one: the global can
be set once per process, and tests (and a process that re-reads its settings) need to swap it.
Context itself is OpenTelemetry's (contextvars), so a span started here is the parent of
anything started below it, and ``atelier_contracts.make_envelope`` reads it from there.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"
_PROPAGATOR = TraceContextTextMapPropagator()
_KINDS = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT, "producer": SpanKind.PRODUCER,
          "consumer": SpanKind.CONSUMER, "internal": SpanKind.INTERNAL}

_provider: Any = None   # an SDK TracerProvider while tracing is on, else None
_tracer: Any = None


def tracing_requested(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")) or env.get("ATELIER_TRACING", "") in ("1", "true")


def enabled() -> bool:
    return _provider is not None


def setup_tracing(service: str, process: str | None = None, *, exporter: Any = None) -> bool:
    """Turn tracing on for this process when the environment asks (or an ``exporter`` is
    given: tests pass an InMemorySpanExporter). Returns whether it is on. The SDK is imported
    only here, so a process with tracing off never loads it."""
    global _provider, _tracer
    if exporter is None:
        if _provider is not None:
            return True  # already on: a second entry point in the same process keeps the first setup
        if not tracing_requested():
            return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"service.name": service, "atelier.process": process or os.environ.get("ATELIER_PROCESS") or service})
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        # Synchronous, so a test sees a span the moment it ends.
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    shutdown_tracing()
    _provider, _tracer = provider, provider.get_tracer("atelier")
    return True


def shutdown_tracing() -> None:
    """Flush what is buffered and turn tracing off (process exit, the end of a test)."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def force_flush() -> None:
    if _provider is not None:
        _provider.force_flush()


def _parent_context(traceparent: str | None, tracestate: str | None = None) -> Any:
    if not traceparent:
        return None
    carrier = {TRACEPARENT_HEADER: traceparent}
    if tracestate:
        carrier[TRACESTATE_HEADER] = tracestate
    # An invalid value yields an empty context: the span starts a new trace, never fails.
    return _PROPAGATOR.extract(carrier)


def _links(traceparent: str | None) -> list[trace.Link]:
    span_context = trace.get_current_span(_parent_context(traceparent)).get_span_context()
    return [trace.Link(span_context)] if span_context.is_valid else []


@contextlib.contextmanager
def _span(name: str, kind: str, traceparent: str | None, tracestate: str | None,
          attributes: dict[str, Any] | None, link: str | None = None) -> Iterator[Any]:
    parent = _parent_context(traceparent, tracestate)
    if link is not None:
        # A new root that points at the caller's trace: the caller's ids are recorded, never adopted.
        parent = otel_context.Context()
    with _tracer.start_as_current_span(name, context=parent, kind=_KINDS[kind], attributes=attributes,
                                       links=_links(link) if link else None,
                                       record_exception=True, set_status_on_exception=True) as span:
        yield span


_NO_SPAN = contextlib.nullcontext(None)


def start_span(name: str, *, kind: str = "internal", traceparent: str | None = None,
               tracestate: str | None = None, attributes: dict[str, Any] | None = None,
               link: str | None = None) -> contextlib.AbstractContextManager[Any]:
    """``with start_span("relay.publish", kind="producer", traceparent=...) as span:`` - a
    child of ``traceparent`` when given (an incoming header, an envelope's trace), else of
    the current span. ``link``: start a new trace that only links to this traceparent (a
    public edge must not let callers choose trace ids or switch sampling off). Yields None
    when tracing is off."""
    if _tracer is None:
        return _NO_SPAN
    return _span(name, kind, traceparent, tracestate, attributes, link)


def open_span(name: str, *, kind: str = "internal", traceparent: str | None = None,
              attributes: dict[str, Any] | None = None) -> Any:
    """A span that is not made current, for work that outlives one block (the worker's job,
    settled after a batch ran); end it with ``end_span``. None when tracing is off."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, context=_parent_context(traceparent), kind=_KINDS[kind], attributes=attributes)


def end_span(span: Any, error: str | None = None) -> None:
    if span is not None:
        if error:
            set_error(span, error)
        span.end()


def traceparent_of(span: Any) -> str | None:
    if span is None:
        return None
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}" if context.is_valid else None


def set_error(span: Any, description: str) -> None:
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, description))


def current_traceparent() -> str | None:
    """The current span as a W3C ``traceparent`` value; None when there is none."""
    if _tracer is None:
        return None
    return traceparent_of(trace.get_current_span())


def trace_headers() -> dict[str, str]:
    """Headers that continue the current trace in an upstream call (empty when off)."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    """The hex trace id for log lines; None when no span is active."""
    if _tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


@contextlib.contextmanager
def detached() -> Iterator[None]:
    """Run a block outside any span (a background loop started from inside a request)."""
    token = otel_context.attach(otel_context.Context())
    try:
        yield
    finally:
        otel_context.detach(token)


@contextlib.contextmanager
def recording(service: str = "test") -> Iterator[Any]:
    """Tests: tracing on for the block, every finished span kept in the InMemorySpanExporter
    it yields (``exporter.get_finished_spans()``); off again afterwards."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    setup_tracing(service, exporter=exporter)
    try:
        yield exporter
    finally:
        shutdown_tracing()
