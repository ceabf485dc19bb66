"""Tracing: off by default and free, on with an exporter; W3C context in and out; trace_id in logs."""
import io
import json
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from atelier_kit import tracing
from atelier_kit.logs import configure_logging
from atelier_kit.tracing_asgi import TracingMiddleware

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"


@pytest.fixture(autouse=True)
def tracing_off_after():
    yield
    tracing.shutdown_tracing()


def log_line(logger_name: str) -> dict:
    stream = io.StringIO()
    configure_logging("kit", "test", stream=stream, logger=logger_name)
    logging.getLogger(logger_name).info("hello")
    return json.loads(stream.getvalue().splitlines()[-1])


def test_tracing_is_off_unless_the_environment_asks(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("ATELIER_TRACING", raising=False)
    assert tracing.setup_tracing("kit") is False
    assert not tracing.enabled()
    with tracing.start_span("nothing", traceparent=CALLER) as span:
        assert span is None
        assert tracing.current_traceparent() is None
        assert tracing.trace_headers() == {}
        assert tracing.current_trace_id() is None
    assert "trace_id" not in log_line("kit.off")


def test_environment_switches(monkeypatch):
    assert tracing.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.tracing_requested({"ATELIER_TRACING": "1"})
    assert not tracing.tracing_requested({})
    assert not tracing.tracing_requested({"ATELIER_TRACING": "1", "OTEL_SDK_DISABLED": "true"})


def test_a_span_continues_the_callers_trace_and_is_propagated():
    with tracing.recording() as spans:
        with tracing.start_span("work", kind="server", traceparent=CALLER) as span:
            assert tracing.current_trace_id() == CALLER_TRACE
            outgoing = tracing.trace_headers()["traceparent"]
            assert outgoing.split("-")[1] == CALLER_TRACE
            assert outgoing.split("-")[2] == f"{span.get_span_context().span_id:016x}"
            assert tracing.current_traceparent() == outgoing
    (finished,) = spans.get_finished_spans()
    assert finished.parent.span_id == int("b7ad6b7169203331", 16)


def test_an_invalid_traceparent_starts_a_new_trace():
    with tracing.recording():
        with tracing.start_span("work", traceparent="00-not-a-trace-01"):
            trace_id = tracing.current_trace_id()
    assert trace_id and trace_id != CALLER_TRACE


def test_log_lines_carry_the_trace_id_of_the_active_span():
    with tracing.recording():
        with tracing.start_span("work", traceparent=CALLER):
            assert log_line("kit.on")["trace_id"] == CALLER_TRACE
        assert "trace_id" not in log_line("kit.on")


def test_open_span_is_not_current_and_gives_its_context():
    with tracing.recording() as spans:
        span = tracing.open_span("job", kind="consumer", traceparent=CALLER)
        assert tracing.current_trace_id() is None
        assert tracing.traceparent_of(span).split("-")[1] == CALLER_TRACE
        tracing.end_span(span, "failed")
    (finished,) = spans.get_finished_spans()
    assert finished.status.is_ok is False


async def _asgi_app():
    async def job(request):
        return JSONResponse({"trace_id": tracing.current_trace_id(), "headers": tracing.trace_headers()})

    return TracingMiddleware(Starlette(routes=[Route("/jobs/{job_id}", job)]))


@pytest.mark.asyncio
async def test_asgi_middleware_continues_the_callers_trace_named_by_route():
    app = await _asgi_app()
    with tracing.recording() as spans:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            answer = (await client.get("/jobs/42", headers={"traceparent": CALLER})).json()
    assert answer["trace_id"] == CALLER_TRACE
    (server,) = spans.get_finished_spans()
    assert server.name == "GET /jobs/{job_id}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.context.trace_id == int(CALLER_TRACE, 16)


@pytest.mark.asyncio
async def test_asgi_middleware_does_nothing_when_off():
    app = await _asgi_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = (await client.get("/jobs/42", headers={"traceparent": CALLER})).json()
    assert answer == {"trace_id": None, "headers": {}}


@pytest.mark.asyncio
async def test_asgi_middleware_lets_errors_through_and_marks_the_span():
    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with tracing.recording() as spans:
        with pytest.raises(RuntimeError, match="boom"):
            await TracingMiddleware(broken, route_label=lambda path: "x_route")(scope, receive, send)
    (server,) = spans.get_finished_spans()
    assert server.name == "GET x_route" and server.status.is_ok is False
