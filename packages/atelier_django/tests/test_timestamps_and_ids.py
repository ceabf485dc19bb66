"""Unit: timestamps from outside, request ids from outside, the log filter."""
import logging

import pytest

from atelier_django.request_ids import RequestIdLogFilter, request_id_var, safe_request_id
from atelier_django.timestamps import MAX_UNIX_TIMESTAMP, parse_unix_timestamp


@pytest.mark.parametrize("value", ["1700000000", b"0", str(MAX_UNIX_TIMESTAMP)])
def test_plain_timestamps_parse(value):
    assert parse_unix_timestamp(value) == int(value)


@pytest.mark.parametrize("value", [None, "", "-5", "+5", " 5", "12a", "١٢٣", "²", "9" * 13,
                                   str(MAX_UNIX_TIMESTAMP + 1), "\udcff", b"\xff\xfe"])
def test_anything_else_is_a_value_error(value):
    with pytest.raises(ValueError):
        parse_unix_timestamp(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("req-4f1c.2:a", "req-4f1c.2:a"), ("", None), (None, None), ("bad id\n", None), ("é" * 3, None),
    (b"\xff\xfe", None), ("x" * 129, None),
])
def test_only_safe_request_ids_are_kept(value, expected):
    assert safe_request_id(value) == expected


def test_log_filter_adds_the_request_id_and_an_explicit_one_wins():
    token = request_id_var.set("req-1")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
        RequestIdLogFilter().filter(record)
        assert (record.request_id, record.correlation_id) == ("req-1", "req-1")
        explicit = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
        explicit.correlation_id = "evt-9"
        RequestIdLogFilter().filter(explicit)
        assert explicit.correlation_id == "evt-9"
    finally:
        request_id_var.reset(token)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
    RequestIdLogFilter().filter(outside)
    assert not hasattr(outside, "correlation_id")
