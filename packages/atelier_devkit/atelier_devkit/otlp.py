"""A span collector that speaks OTLP/HTTP, for tests and for looking at traces on one machine.

The platform exports spans with OpenTelemetry's OTLP/HTTP exporter when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (atelier_kit.tracing). In production that endpoint is an
OpenTelemetry Collector, Jaeger or Tempo; none of them is installable here, so the end-to-end
test points the platform at this one: a loopback HTTP server that decodes each
``POST /v1/traces`` (protobuf, optionally gzip) and keeps the spans in memory.

    python -m atelier_devkit.otlp --port 4318     # print each span as a JSON line
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 make up
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

MAX_BODY = 16 * 1024 * 1024
_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service: str
    process: str
    start_ns: int
    end_ns: int
    error: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    links: tuple[str, ...] = ()  # the trace ids this span links to


def _value(any_value: Any) -> Any:
    which = any_value.WhichOneof("value")
    return getattr(any_value, which) if which in ("string_value", "int_value", "double_value", "bool_value") else None


def _attributes(key_values: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in key_values}


def decode(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", ""))
        process = str(resource.get("atelier.process", service))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(Span(
                    trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex() or None, name=span.name,
                    kind=_KINDS.get(span.kind, str(span.kind)), service=service, process=process,
                    start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
                    error=span.status.code == 2, attributes=_attributes(span.attributes),
                    links=tuple(link.trace_id.hex() for link in span.links),
                ))
    return spans


class SpanCollector:
    """``with SpanCollector() as collector:`` - ``collector.endpoint`` is the value for
    ``OTEL_EXPORTER_OTLP_ENDPOINT``; ``collector.spans()`` what has arrived."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, on_span: Callable[[Span], None] | None = None):
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._on_span = on_span
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/") != "/v1/traces":
                    self._answer(404, b"")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, b"")
                    return
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                try:
                    spans = decode(body)
                except Exception:  # noqa: BLE001 - a body that is no export request
                    self._answer(400, b"")
                    return
                collector._add(spans)
                self._answer(200, ExportTraceServiceResponse().SerializeToString())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass  # one line per export would drown a test's output

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-collector", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _add(self, spans: list[Span]) -> None:
        with self._lock:
            self._spans.extend(spans)
        if self._on_span is not None:
            for span in spans:
                self._on_span(span)

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[Span]:
        return [span for span in self.spans() if span.trace_id == trace_id]

    def __enter__(self) -> SpanCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Receive OTLP/HTTP spans and print each as a JSON line.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()

    printing = threading.Lock()  # one request thread per export: whole lines only

    def show(span: Span) -> None:
        line = json.dumps(asdict(span))
        with printing:
            print(line, flush=True)

    with SpanCollector(args.host, args.port, on_span=show) as collector:
        print(f"collecting spans at {collector.endpoint}/v1/traces", file=sys.stderr, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
