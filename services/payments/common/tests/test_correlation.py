"""Unit: log lines carry the request's correlation id, and an explicit one wins."""
import json
import logging

from atelier_messaging.logs import JsonFormatter

from common.correlation import CorrelationIdFilter, correlation_id_var


def render(**extra) -> dict:
    record = logging.LogRecord("payments", logging.INFO, __file__, 1, "hello", None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    CorrelationIdFilter().filter(record)
    return json.loads(JsonFormatter("payments").format(record))


def test_request_correlation_id_is_added():
    token = correlation_id_var.set("req-1")
    try:
        assert render()["correlation_id"] == "req-1"
        assert render(correlation_id="evt-9")["correlation_id"] == "evt-9"
    finally:
        correlation_id_var.reset(token)


def test_no_request_no_correlation_id():
    assert "correlation_id" not in render()
