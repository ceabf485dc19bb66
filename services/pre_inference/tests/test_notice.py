"""The body of a job change notice: "changed", or the traceparent of the change."""
import json

import pytest

from app.adapters.notify import PLAIN_NOTICE, notice, notice_traceparent

TRACEPARENT = "00-" + "12" * 16 + "-" + "34" * 8 + "-01"


def test_a_notice_is_plain_while_tracing_is_off_and_names_the_span_while_on():
    assert notice(None) == PLAIN_NOTICE
    assert json.loads(notice(TRACEPARENT)) == {"traceparent": TRACEPARENT}
    assert notice_traceparent(notice(TRACEPARENT).encode()) == TRACEPARENT
    assert notice_traceparent(PLAIN_NOTICE.encode()) is None


@pytest.mark.parametrize("body", [b"", b"garbage", b"[1]", b'{"traceparent": 5}', b"\xff\xfe", b'{"other": "x"}'])
def test_an_unexpected_body_is_still_a_notice_without_a_trace(body):
    assert notice_traceparent(body) is None
