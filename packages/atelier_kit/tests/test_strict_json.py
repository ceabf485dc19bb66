"""Unit: the bounded JSON decoder every face wraps."""
import time

import pytest

from atelier_kit.strict_json import JsonLimits, JsonRejected, load_strict_json


def test_ordinary_json_parses():
    assert load_strict_json(b'{"a": [1, 2, {"b": "[[[{{\\"]"}], "c": null}') == {"a": [1, 2, {"b": '[[[{{"]'}],
                                                                                 "c": None}


@pytest.mark.parametrize("raw", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000])
def test_deep_nesting_is_invalid_json_not_a_recursion_error(raw):
    with pytest.raises(JsonRejected) as caught:
        load_strict_json(raw, JsonLimits(max_bytes=1_000_000))
    assert caught.value.code == "invalid_json"


def test_depth_limit_is_exact_and_brackets_in_strings_do_not_count():
    limits = JsonLimits(max_depth=3)
    assert load_strict_json(b'[[["[[[[\\\\"]]]', limits) == [[["[[[[\\"]]]
    with pytest.raises(JsonRejected):
        load_strict_json(b"[[[[1]]]]", limits)


def test_item_count_and_size_are_bounded():
    with pytest.raises(JsonRejected, match="values"):
        load_strict_json(b"[" + b",".join([b"1"] * 101) + b"]", JsonLimits(max_items=100))
    with pytest.raises(JsonRejected) as caught:
        load_strict_json(b'"' + b"a" * 100 + b'"', JsonLimits(max_bytes=50))
    assert caught.value.code == "payload_too_large"


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b'{"a": 1, "a": 2}', b"\xff",
                                 b"", b"{"])
def test_constants_duplicates_and_garbage_are_invalid_json(raw):
    with pytest.raises(JsonRejected) as caught:
        load_strict_json(raw)
    assert caught.value.code == "invalid_json"


def test_a_body_of_long_strings_is_scanned_quickly():
    # pre_inference's uploads: megabytes of base64 in two strings must not cost a byte loop.
    raw = b'{"init_image": "' + b"A" * 8_000_000 + b'", "mask": "' + b"B" * 8_000_000 + b'"}'
    started = time.perf_counter()
    assert len(load_strict_json(raw, JsonLimits(max_bytes=len(raw)))["mask"]) == 8_000_000
    assert time.perf_counter() - started < 1.0
