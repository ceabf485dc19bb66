"""Unit: the bounded JSON decoder and the DRF parser around it."""
import io

import pytest

from atelier_django.exceptions import InvalidJson, PayloadTooLarge
from atelier_django.strict_json import JsonLimits, JsonRejected, StrictJSONParser, load_strict_json


def test_ordinary_json_parses():
    assert load_strict_json(b'{"a": [1, 2, {"b": "[[[{{"}], "c": null}') == {"a": [1, 2, {"b": "[[[{{"}], "c": None}


@pytest.mark.parametrize("raw", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000])
def test_deep_nesting_is_invalid_json_not_a_recursion_error(raw):
    with pytest.raises(JsonRejected) as caught:
        load_strict_json(raw, JsonLimits(max_bytes=1_000_000))
    assert caught.value.code == "invalid_json"


def test_depth_limit_is_exact():
    limits = JsonLimits(max_depth=3)
    assert load_strict_json(b"[[[1]]]", limits) == [[[1]]]
    with pytest.raises(JsonRejected):
        load_strict_json(b"[[[[1]]]]", limits)


def test_item_count_is_bounded():
    with pytest.raises(JsonRejected, match="values"):
        load_strict_json(b"[" + b",".join([b"1"] * 101) + b"]", JsonLimits(max_items=100))


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b"-Infinity", b'{"a":1,"a":2}', b"\xff", b"", b"{"])
def test_non_strict_json_is_refused(raw):
    with pytest.raises(JsonRejected) as caught:
        load_strict_json(raw)
    assert caught.value.code == "invalid_json"


def test_duplicate_keys_may_be_allowed():
    assert load_strict_json(b'{"a":1,"a":2}', JsonLimits(reject_duplicate_keys=False)) == {"a": 2}


def test_size_limit():
    with pytest.raises(JsonRejected) as caught:
        load_strict_json(b" " * 11, JsonLimits(max_bytes=10))
    assert caught.value.code == "payload_too_large"


def test_parser_maps_to_drf_errors():
    parser = StrictJSONParser()
    assert parser.parse(io.BytesIO(b'{"a": 1}')) == {"a": 1}
    with pytest.raises(InvalidJson):
        parser.parse(io.BytesIO(b"[" * 100_000))
    with pytest.raises(PayloadTooLarge):
        parser.parse(io.BytesIO(b" " * (64 * 1024 + 10)))
