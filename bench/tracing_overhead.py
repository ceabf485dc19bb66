"""What tracing adds to the submit path, per request: before (no tracing code at all), off
(the hooks installed, tracing off: the default) and on (spans made and handed to an exporter).

    .venv/bin/python bench/tracing_overhead.py            # 20000 requests per phase
    .venv/bin/python bench/tracing_overhead.py -n 5000

One "request" is what a job submission runs through the tracing hooks, in process: the ASGI
middleware around an app, the traceparent the gateway forwards upstream, the
``pre_inference.job.accepted`` + ``inference.job.requested`` envelopes made (validated, encoded)
and one JSON log line. Networking and the database are left out on purpose: they are the same
in every phase and would hide the difference being measured. Phases alternate
(before, off, on, before, ...) so drift in machine load hits all alike; the figure is the median
of the rounds.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import statistics
import time

from atelier_contracts import encode, make_envelope
from atelier_contracts.registry import example_for
from atelier_kit import tracing
from atelier_kit.logs import JsonLogFormatter
from atelier_kit.tracing_asgi import TracingMiddleware
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

ACCEPTED = example_for("pre_inference.job.accepted", 1)["data"]
REQUESTED = example_for("inference.job.requested", 1)["data"]


class DiscardingExporter(SpanExporter):
    """Spans are built and handed over, then dropped: the cost of tracing, not of a network."""

    def export(self, spans):  # noqa: ANN001
        return SpanExportResult.SUCCESS


def make_logger() -> logging.Logger:
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonLogFormatter("bench", "api"))
    logger = logging.getLogger("bench.tracing")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


LOG = make_logger()


async def submit_app(scope, receive, send) -> None:  # noqa: ANN001
    """The work of a submission that touches tracing: forward headers, two envelopes, a log line."""
    tracing.trace_headers()
    for event_type, data in (("pre_inference.job.accepted", ACCEPTED), ("inference.job.requested", REQUESTED)):
        encode(make_envelope(event_type, 1, data, producer="pre_inference", correlation_id="bench"))
    LOG.info("job accepted", extra={"job_id": "00000000-0000-0000-0000-000000000000"})
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


SCOPE = {"type": "http", "method": "POST", "path": "/api/jobs", "headers": [
    (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    (b"content-type", b"application/json")]}


async def receive():
    return {"type": "http.request", "body": b"{}", "more_body": False}


async def send(message):  # noqa: ANN001
    return None


async def run(app, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await app(dict(SCOPE), receive, send)
    return (time.perf_counter() - started) / n * 1e6


def phase(name: str, n: int) -> float:
    tracing.shutdown_tracing()
    if name == "on":
        tracing.setup_tracing("bench", exporter=DiscardingExporter())
    app = submit_app if name == "before" else TracingMiddleware(submit_app)
    if name == "before":
        # No tracing code at all: the envelope and log hooks are bypassed too.
        return asyncio.run(_without_hooks(app, n))
    return asyncio.run(run(app, n))


async def _without_hooks(app, n: int) -> float:
    """``before``: the hooks the tracing change added, replaced by what was there before it."""
    import atelier_contracts.envelope as envelope_module
    import atelier_kit.logs as logs_module

    saved = envelope_module.current_trace, logs_module.current_trace_id, tracing.trace_headers
    envelope_module.current_trace = lambda: None
    logs_module.current_trace_id = lambda: None
    tracing.trace_headers = dict
    try:
        return await run(app, n)
    finally:
        envelope_module.current_trace, logs_module.current_trace_id, tracing.trace_headers = saved


async def empty_app(scope, receive, send) -> None:  # noqa: ANN001
    await send({"type": "http.response.start", "status": 201, "headers": []})


def hook_costs(n: int) -> dict[str, float]:
    """Each hook alone, in nanoseconds per call: what tracing adds with nothing else around it."""
    import atelier_contracts.envelope as envelope_module

    def per_call(fn) -> float:  # noqa: ANN001
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter_ns()
            for _ in range(n):
                fn()
            best = min(best, (time.perf_counter_ns() - started) / n)
        return best

    bare, wrapped = empty_app, TracingMiddleware(empty_app)
    loop = asyncio.new_event_loop()
    costs = {
        "asgi_bare_ns": per_call(lambda: loop.run_until_complete(bare(dict(SCOPE), receive, send))),
        "asgi_middleware_ns": per_call(lambda: loop.run_until_complete(wrapped(dict(SCOPE), receive, send))),
        "envelope_current_trace_ns": per_call(envelope_module.current_trace),
        "log_current_trace_id_ns": per_call(tracing.current_trace_id),
        "gateway_trace_headers_ns": per_call(tracing.trace_headers),
    }
    loop.close()
    costs["asgi_middleware_added_ns"] = costs["asgi_middleware_ns"] - costs["asgi_bare_ns"]
    return {key: round(value) for key, value in costs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20000, help="requests per phase")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_round = max(1, args.n // args.rounds)
    phase("before", 500), phase("off", 500), phase("on", 500)  # warm caches (validators, imports)
    results: dict[str, list[float]] = {"before": [], "off": [], "on": []}
    for _ in range(args.rounds):
        for name in results:
            results[name].append(phase(name, per_round))
    tracing.shutdown_tracing()
    hooks_off = hook_costs(max(1000, per_round))
    tracing.setup_tracing("bench", exporter=DiscardingExporter())
    with tracing.start_span("request"):  # on: the hooks inside a request's span
        hooks_on = hook_costs(max(1000, per_round))
    tracing.shutdown_tracing()
    print(json.dumps({"hooks_tracing_off": hooks_off}))
    print(json.dumps({"hooks_tracing_on": hooks_on}))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(json.dumps({"requests_per_phase": per_round * args.rounds,
                      **{f"{name}_us_per_request": round(value, 2) for name, value in medians.items()},
                      "off_minus_before_us": round(medians["off"] - medians["before"], 2),
                      "on_minus_before_us": round(medians["on"] - medians["before"], 2)}))


if __name__ == "__main__":
    main()
