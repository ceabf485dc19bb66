"""Unit: which request ids are kept, and timestamps from outside."""
import pytest

from atelier_kit.request_ids import accept_request_id, safe_request_id
from atelier_kit.timestamps import MAX_UNIX_TIMESTAMP, parse_unix_timestamp


@pytest.mark.parametrize(("value", "expected"), [
    ("req-4f1c.2:a", "req-4f1c.2:a"), ("", None), (None, None), ("bad id", None), ("é" * 3, None),
    (b"\xff\xfe", None), ("x" * 129, None), ("abc\n", None), (b"abc", "abc"),
])
def test_only_safe_request_ids_are_kept(value, expected):
    assert safe_request_id(value) == expected


def test_an_unsafe_id_is_replaced_by_a_fresh_one():
    assert accept_request_id("ok-1") == "ok-1"
    fresh = accept_request_id("abc\n")
    assert fresh != "abc\n" and safe_request_id(fresh) == fresh


@pytest.mark.parametrize("value", [None, "", "-5", " 5", "١٢٣", "9" * 13, str(MAX_UNIX_TIMESTAMP + 1)])
def test_timestamps_are_ascii_digits_within_range(value):
    with pytest.raises(ValueError):
        parse_unix_timestamp(value)
    assert parse_unix_timestamp("1700000000") == 1700000000
