"""Unit: how a submission's ending maps to pre_inference_admissions_total's outcome, and a
refused event stream counts as pre_inference_rate_limited_total{limit="streams"}."""
import uuid

import pytest
from fastapi.exceptions import RequestValidationError
from prometheus_client import REGISTRY

from app.api.errors import ApiError
from app.api.metrics import admission_outcome, tier_label
from app.api.stream_slots import StreamSlots


@pytest.mark.parametrize("error,outcome", [
    (None, "accepted"),
    (ApiError(429, "rate_limited", "slow down"), "rate_limited"),
    (ApiError(429, "concurrency_limit", "wait"), "concurrency_limit"),
    (ApiError(429, "quota_exceeded", "buy more"), "quota_exceeded"),
    (ApiError(422, "exceeds_tier", "too big"), "invalid"),
    (ApiError(400, "invalid_json", "broken"), "invalid"),
    (RequestValidationError([]), "invalid"),
    (ApiError(401, "not_authenticated", "who"), "refused"),
    (ApiError(403, "email_unverified", "verify"), "refused"),
    (RuntimeError("bug"), "refused"),
])
def test_outcomes(error, outcome):
    assert admission_outcome(error) == outcome


def test_only_the_policys_tiers_become_label_values():
    assert tier_label("pro", {"free", "pro"}) == "pro"
    assert tier_label("x" * 300, {"free", "pro"}) == tier_label(None, {"free"}) == "unknown"


def test_a_refused_stream_is_counted_by_its_limit():
    before = REGISTRY.get_sample_value("pre_inference_rate_limited_total", {"limit": "streams"}) or 0.0
    slots, user = StreamSlots(per_user=1), uuid.uuid4()
    slots.take(user)
    with pytest.raises(ApiError):
        slots.take(user)
    assert REGISTRY.get_sample_value("pre_inference_rate_limited_total", {"limit": "streams"}) == before + 1
