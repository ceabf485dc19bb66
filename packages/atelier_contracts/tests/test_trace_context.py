"""The envelope's optional trace context: carried when made inside a span, absent otherwise,
and messages from before it (without the field) still decode."""
import json

import pytest
from opentelemetry.sdk.trace import TracerProvider

from atelier_contracts import ContractError, decode, encode, make_envelope
from atelier_contracts.registry import example_for

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def registered():
    return make_envelope("auth.user.registered", 1, example_for("auth.user.registered", 1)["data"], producer="t")


def test_an_envelope_made_inside_a_span_carries_its_context():
    tracer = TracerProvider().get_tracer("test")  # a private provider: no global is set
    with tracer.start_as_current_span("request") as span:
        env = registered()
    context = span.get_span_context()
    assert env.trace == {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"}
    again = decode(encode(env))
    assert again.trace == env.trace and again.traceparent == env.trace["traceparent"]


def test_outside_a_span_there_is_no_trace_field():
    env = registered()
    assert env.trace is None and env.traceparent is None
    assert "trace" not in json.loads(encode(env))


def test_old_messages_without_the_field_still_decode():
    raw = example_for("auth.user.registered", 1)
    assert "trace" not in raw
    assert decode(json.dumps(raw)).trace is None


@pytest.mark.parametrize("trace", [
    {"traceparent": "not-a-traceparent"},
    {"traceparent": TRACEPARENT, "baggage": "x"},
    {},
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
])
def test_a_malformed_trace_breaks_the_contract(trace):
    raw = {**example_for("auth.user.registered", 1), "trace": trace}
    with pytest.raises(ContractError, match="trace"):
        decode(json.dumps(raw))


def test_an_explicit_trace_is_kept():
    env = make_envelope("auth.user.registered", 1, example_for("auth.user.registered", 1)["data"], producer="t",
                        trace={"traceparent": TRACEPARENT})
    assert decode(encode(env)).traceparent == TRACEPARENT
