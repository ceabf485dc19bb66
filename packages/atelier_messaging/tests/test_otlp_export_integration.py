"""A real relay process with OTEL_EXPORTER_OTLP_ENDPOINT set exports its spans over OTLP/HTTP
to a collector (a tiny one in this test), in the trace the outbox row's envelope carries."""
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from atelier_messaging.sqlalchemy import add_to_outbox

from .conftest import get_all, registered

pytestmark = pytest.mark.integration
TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4736"


class Collector(ThreadingHTTPServer):
    """Keeps every span posted to /v1/traces as (service.name, span name, trace id hex, parent span id hex)."""

    def __init__(self):
        self.spans = []
        super().__init__(("127.0.0.1", 0), _CollectorHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class _CollectorHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server API
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.server.spans.append((service, span.name, span.trace_id.hex(), span.parent_span_id.hex()))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def collector():
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_relay_process_exports_its_span_in_the_envelopes_trace(clean_db, channel, amqp_url, collector):
    env = registered(email="otlp@example.com")
    from dataclasses import replace

    env = replace(env, trace={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    engine = create_engine(clean_db.replace("postgresql://", "postgresql+psycopg://", 1))
    with Session(engine) as session, session.begin():
        add_to_outbox(session, env)
    engine.dispose()
    process_env = {**os.environ, "RELAY_TEST_DATABASE_URL": clean_db, "ATELIER_AMQP_URL": amqp_url,
                   "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    relay = subprocess.Popen([sys.executable, "-m", "atelier_messaging.relay", "--database-url-env",
                              "RELAY_TEST_DATABASE_URL", "--name", "otlptest"], env=process_env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (got,) = get_all(channel, "payments.events", expect=1, timeout_s=20)
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=20)
    assert got[0].message_id == env.id
    assert ("otlptest", "relay auth.user.registered.v1", TRACE_ID, "00f067aa0ba902b7") in collector.spans
