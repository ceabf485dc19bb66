"""A submission continues the gateway's trace, and both messages it writes to the outbox carry
it on (so the relay, the worker and the consumers continue the same trace)."""
import json

import pytest
from atelier_kit import tracing

from .test_submit import JOB, auth, outbox_for

pytestmark = pytest.mark.integration

GATEWAY_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
GATEWAY = f"00-{GATEWAY_TRACE}-00f067aa0ba902b7-01"


async def test_submit_continues_the_gateways_trace_into_its_messages(client, make_token, db):
    with tracing.recording("pre_inference") as exporter:
        response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(tier="pro"), traceparent=GATEWAY))
        spans = exporter.get_finished_spans()
    assert response.status_code == 202, response.text
    (server,) = [span for span in spans if span.kind.name == "SERVER"]
    assert server.name == "POST /api/v1/jobs"
    assert server.context.trace_id == int(GATEWAY_TRACE, 16)
    expected = f"00-{GATEWAY_TRACE}-{server.context.span_id:016x}-01"
    for routing_key in ("inference.job.requested.v1", "pre_inference.job.accepted.v1"):
        ((_, _, _, raw),) = outbox_for(db, response.json()["id"], routing_key)
        assert json.loads(raw)["trace"] == {"traceparent": expected}, routing_key


async def test_without_tracing_the_messages_have_no_trace(client, make_token, db):
    response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(tier="pro"), traceparent=GATEWAY))
    ((_, _, _, raw),) = outbox_for(db, response.json()["id"])
    assert "trace" not in json.loads(raw)
