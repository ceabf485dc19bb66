"""Prometheus metrics of the API process (served at /metrics; names and labels as in
infra/monitoring/catalogue.toml). The HTTP ones (atelier_http_*) come from atelier_kit."""
from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from prometheus_client import Counter
from starlette.exceptions import HTTPException
from starlette.requests import Request

JOBS_SUBMITTED = Counter("pre_inference_jobs_submitted_total", "Jobs accepted, by tier", ["tier"])
ADMISSIONS = Counter(
    "pre_inference_admissions_total",
    "Submissions by outcome: accepted, rate_limited, concurrency_limit, quota_exceeded, invalid, refused",
    ["outcome", "tier"],
)
RATE_LIMITED = Counter(
    "pre_inference_rate_limited_total", "429 answers by the limit that refused: rate, concurrency, quota, streams", ["limit"],
)

# A 429's error code -> the limit that refused it (the catalogue's bounded label values).
LIMIT_OF_CODE = {"rate_limited": "rate", "concurrency_limit": "concurrency", "quota_exceeded": "quota",
                 "too_many_streams": "streams"}
UNKNOWN_TIER = "unknown"


def tier_label(tier: str | None, known_tiers) -> str:  # noqa: ANN001 - any container of names
    # The tier comes from a token claim: only the policy's names become label values.
    return tier if tier in known_tiers else UNKNOWN_TIER


SUBMIT_ROUTE = "submit_job"  # the endpoint's name: its route is the one admissions count


def admission_outcome(error: BaseException | None) -> str:
    """How a submission ended, from the error it raised (None: admitted)."""
    if error is None:
        return "accepted"
    if isinstance(error, RequestValidationError):
        return "invalid"
    if isinstance(error, HTTPException):  # the platform's ApiError included
        code = getattr(error, "code", None)
        if error.status_code == 429 and code in LIMIT_OF_CODE:
            return code
        if error.status_code in (400, 413, 415, 422):
            return "invalid"
    return "refused"


def count_admission(request: Request, error: BaseException | None) -> None:
    """Once per submission, whichever comes first: the endpoint (accepted, or refused by
    admission) or the error handlers (refused before it ran: token, scope, JSON, schema)."""
    if getattr(request.state, "admission_counted", False):
        return
    request.state.admission_counted = True
    # The tier admission resolved (an API key's may differ from the token's); a refusal
    # before the endpoint ran knows none.
    tier = tier_label(getattr(request.state, "admission_tier", None), request.app.state.tier_policy.tiers)
    ADMISSIONS.labels(admission_outcome(error), tier).inc()
    if isinstance(error, HTTPException) and error.status_code == 429:
        count_rate_limited(getattr(error, "code", ""))


def count_refused_submission(request: Request, error: BaseException) -> None:
    """For the error handlers: counts the error if it answers a submission."""
    if getattr(request.scope.get("route"), "name", None) == SUBMIT_ROUTE:
        count_admission(request, error)


def count_rate_limited(code: str) -> None:
    limit = LIMIT_OF_CODE.get(code)
    if limit is not None:
        RATE_LIMITED.labels(limit).inc()
