"""Unit: the messaging processes write the platform's one log line (atelier_kit.logs)."""
import json
import logging

from atelier_messaging.logs import JsonFormatter


def test_the_formatter_django_logging_dicts_name_writes_the_platform_line():
    record = logging.LogRecord("billing.events", logging.INFO, __file__, 1, "paid %s", ("inv-1",), None)
    record.correlation_id = "c-1"
    entry = json.loads(JsonFormatter(process_name="payments").format(record))
    assert {key: entry[key] for key in ("level", "service", "process", "logger", "message", "correlation_id")} == {
        "level": "info", "service": "payments", "process": "payments", "logger": "billing.events",
        "message": "paid inv-1", "correlation_id": "c-1"}
    assert "time" in entry and "msg" not in entry and "ts" not in entry


def test_a_dotted_name_is_service_and_process():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    entry = json.loads(JsonFormatter("pre_inference.consumer").format(record))
    assert (entry["service"], entry["process"]) == ("pre_inference", "consumer")
