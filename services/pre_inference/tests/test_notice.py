"""The body of a job change notice: "changed", or the traceparent of the change, the job as
it ended and the worker's newest preview."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.adapters.jobs_repo import ImageView, JobView
from app.adapters.notify import MAX_PREVIEW_CHARS, PLAIN_NOTICE, notice, read_notice, usable_preview

TRACEPARENT = "00-" + "12" * 16 + "-" + "34" * 8 + "-01"
NOW = datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)


def ended(status: str = "succeeded", **changes) -> JobView:
    values = dict(
        id=uuid.uuid4(), status=status, step=4, total_steps=4, progress=1.0, error_code=None, error_message=None,
        params={"prompt": "a lighthouse", "width": 64}, created_at=NOW - timedelta(seconds=3),
        started_at=NOW - timedelta(seconds=1), finished_at=NOW, request_fingerprint=None, queue_position=None,
        images=(ImageView(id=uuid.uuid4(), key="images/x/0.png", seed=7, width=64, height=64),),
    )
    return JobView(**{**values, **changes})


def test_a_notice_is_plain_while_tracing_is_off_and_names_the_span_while_on():
    assert notice(None) == PLAIN_NOTICE
    assert json.loads(notice(TRACEPARENT)) == {"traceparent": TRACEPARENT}
    assert read_notice(notice(TRACEPARENT).encode()) == (TRACEPARENT, None, None)
    assert read_notice(PLAIN_NOTICE.encode()) == (None, None, None)


@pytest.mark.parametrize("status", ["succeeded", "failed", "canceled"])
def test_the_job_as_it_ended_comes_back_as_it_went(status):
    job = ended(status)
    assert read_notice(notice(None, job).encode()) == (None, job, None)
    assert read_notice(notice(TRACEPARENT, job)) == (TRACEPARENT, job, None)


def test_a_job_that_has_not_ended_is_never_taken_from_a_notice():
    """Notices of one job can arrive out of order: only a terminal state is safe to send unread."""
    body = json.loads(notice(None, ended()))
    body["final"]["status"] = "running"
    assert read_notice(json.dumps(body)) == (None, None, None)


@pytest.mark.parametrize("body", [b"", b"garbage", b"[1]", b'{"traceparent": 5}', b"\xff\xfe", b'{"other": "x"}',
                                  b'{"final": {"status": "succeeded"}}', b'{"final": {"status": "failed", "id": "nope"}}'])
def test_an_unexpected_body_is_still_a_notice_that_carries_nothing(body):
    assert read_notice(body) == (None, None, None)


PREVIEW = "data:image/jpeg;base64,/9j/4AAQSkZJRg=="


def test_a_preview_rides_the_notice_to_the_streams():
    assert json.loads(notice(None, preview=PREVIEW)) == {"preview": PREVIEW}
    assert read_notice(notice(TRACEPARENT, preview=PREVIEW).encode()) == (TRACEPARENT, None, PREVIEW)


@pytest.mark.parametrize("preview", [
    "data:image/svg+xml;base64,PHN2Zz4=", "javascript:alert(1)", "https://example.com/a.jpg", 42, None,
    "data:image/jpeg;base64," + "A" * MAX_PREVIEW_CHARS,
])
def test_anything_but_a_small_jpeg_or_webp_data_url_is_no_preview(preview):
    assert usable_preview(preview) is None
    assert read_notice(json.dumps({"preview": preview})) == (None, None, None)


def test_a_webp_or_jpeg_data_url_within_the_bound_is_a_preview():
    assert usable_preview(PREVIEW.encode()) == PREVIEW
    assert usable_preview("data:image/webp;base64,UklGRg==") == "data:image/webp;base64,UklGRg=="


def test_a_preview_survives_a_later_change_of_the_same_transaction_unless_that_change_ends_the_job():
    """The consumer commits runs of events: a newer step without a preview keeps the one before."""
    from types import SimpleNamespace

    from app.adapters.job_events import NOTIFY_KEY, notify_after_commit

    session, job_id = SimpleNamespace(info={}), uuid.uuid4()
    notify_after_commit(session, job_id, preview=PREVIEW)
    notify_after_commit(session, job_id)
    assert session.info[NOTIFY_KEY][job_id].preview == PREVIEW
    notify_after_commit(session, job_id, final=ended())
    assert session.info[NOTIFY_KEY][job_id].preview is None
