"""Unit: the one JSON log line."""
import io
import json
import logging

from atelier_kit.logs import JsonLogFormatter, configure_logging
from atelier_kit.request_ids import request_id_var


def _record(message, *args, **extra):
    record = logging.LogRecord("svc.part", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_line_has_the_platform_fields():
    entry = json.loads(JsonLogFormatter("pre_inference", "api").format(_record("hello %s", "there")))
    assert set(entry) == {"time", "level", "service", "process", "logger", "message"}
    assert (entry["level"], entry["service"], entry["process"], entry["logger"], entry["message"]) == (
        "warning", "pre_inference", "api", "svc.part", "hello there")
    assert entry["time"].endswith("Z")


def test_known_ids_are_added_and_the_request_in_progress_is_named():
    formatter = JsonLogFormatter("gateway")
    entry = json.loads(formatter.format(_record("x", correlation_id="c1", trace_id="t1", job_id="j")))
    assert (entry["correlation_id"], entry["trace_id"], entry["job_id"], entry["process"]) == ("c1", "t1", "j", "gateway")
    token = request_id_var.set("req-9")
    try:
        assert json.loads(formatter.format(_record("x")))["request_id"] == "req-9"
    finally:
        request_id_var.reset(token)


def test_a_json_message_is_merged_not_quoted_and_cannot_replace_the_platform_fields():
    line = json.dumps({"event": "request", "status": 200, "service": "forged", "request_id": "r1"})
    entry = json.loads(JsonLogFormatter("gateway", "api").format(_record(line)))
    assert entry["message"] == "request" and entry["status"] == 200 and entry["request_id"] == "r1"
    assert entry["service"] == "gateway" and entry["detail"] == {"service": "forged"}


def test_tracebacks_stay_inside_the_one_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = JsonLogFormatter("x").format(record)
    assert "\n" not in line and "RuntimeError: boom" in json.loads(line)["exc"]


def test_configure_logging_writes_json_lines_to_the_stream():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("auth", "relay", stream=stream)
        logging.getLogger("auth.relay").warning("published %d", 3)
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert (entry["service"], entry["process"], entry["message"]) == ("auth", "relay", "published 3")
