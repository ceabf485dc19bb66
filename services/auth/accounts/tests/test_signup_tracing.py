"""A request through auth continues the gateway's trace, and the event it writes to the outbox
carries that trace on; with tracing off the event has no trace field."""
import pytest
from atelier_kit import tracing

from .test_signup import GOOD_PASSWORD, SIGNUP, outbox_rows

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

GATEWAY_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
GATEWAY = f"00-{GATEWAY_TRACE}-00f067aa0ba902b7-01"


def test_signup_continues_the_gateways_trace_into_its_event(api_client):
    with tracing.recording("auth") as exporter:
        response = api_client.post(SIGNUP, {"email": "traced@example.com", "password": GOOD_PASSWORD},
                                   format="json", HTTP_TRACEPARENT=GATEWAY)
        spans = exporter.get_finished_spans()
    assert response.status_code == 201, response.content
    (server,) = [span for span in spans if span.kind.name == "SERVER"]
    assert server.name == "POST /api/auth/signup"
    assert server.context.trace_id == int(GATEWAY_TRACE, 16)
    assert server.parent.span_id == int("00f067aa0ba902b7", 16)
    (row,) = outbox_rows(response.json()["id"])
    assert row["body"]["trace"]["traceparent"] == f"00-{GATEWAY_TRACE}-{server.context.span_id:016x}-01"


def test_without_tracing_the_event_has_no_trace(api_client):
    response = api_client.post(SIGNUP, {"email": "untraced@example.com", "password": GOOD_PASSWORD},
                               format="json", HTTP_TRACEPARENT=GATEWAY)
    (row,) = outbox_rows(response.json()["id"])
    assert "trace" not in row["body"]
