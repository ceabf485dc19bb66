"""The span collector receives what OpenTelemetry's own OTLP/HTTP exporter sends."""
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from atelier_devkit.otlp import SpanCollector


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_spans_arrive_with_their_service_parents_links_and_status(compression):
    with SpanCollector() as collector:
        exporter = OTLPSpanExporter(endpoint=f"{collector.endpoint}/v1/traces", compression=compression, timeout=5)
        provider = TracerProvider(resource=Resource.create({"service.name": "svc", "atelier.process": "relay"}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("outer", kind=SpanKind.SERVER, attributes={"n": 3}) as outer:
            with tracer.start_as_current_span("inner", kind=SpanKind.PRODUCER, links=[Link(outer.get_span_context())]) as inner:
                inner.set_status(Status(StatusCode.ERROR, "broken"))
        provider.shutdown()

        spans = {span.name: span for span in collector.spans()}
        assert set(spans) == {"outer", "inner"}
        outer_id = f"{outer.get_span_context().trace_id:032x}"
        assert spans["outer"].trace_id == spans["inner"].trace_id == outer_id
        assert spans["inner"].parent_span_id == spans["outer"].span_id and spans["outer"].parent_span_id is None
        assert (spans["outer"].kind, spans["inner"].kind) == ("server", "producer")
        assert (spans["outer"].service, spans["outer"].process) == ("svc", "relay")
        assert spans["outer"].attributes == {"n": 3}
        assert spans["inner"].error and not spans["outer"].error
        assert spans["inner"].links == (outer_id,)
        assert collector.trace(outer_id) == collector.spans()


def test_what_is_not_an_export_is_refused():
    with SpanCollector() as collector, httpx.Client(base_url=collector.endpoint, timeout=5) as client:
        assert client.post("/v1/traces", content=b"\xff\x00 not protobuf").status_code == 400
        assert client.post("/v1/metrics", content=b"").status_code == 404
        assert collector.spans() == []
