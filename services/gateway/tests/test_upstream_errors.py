"""Which upstream 5xx bodies pass through (the platform's own error) and which are replaced."""
from __future__ import annotations

import pytest

from app.upstream_errors import is_platform_error


@pytest.mark.parametrize("body, content_type, passes", [
    (b'{"error": {"code": "overloaded", "message": "busy"}}', "application/json", True),
    (b'{"error": {"code": "x", "message": "y", "fields": {"a": ["b"]}}}', "application/problem+json", True),
    (b'{"error": {"code": "x", "message": "y"}}', "text/html", False),  # a page that only looks like it
    (b"<h1>Server Error (500)</h1>", "text/html", False),
    (b"Internal Server Error", "text/plain", False),
    (b'{"detail": "Internal Server Error"}', "application/json", False),
    (b'{"error": "boom"}', "application/json", False),
    (b'{"error": {"code": 5, "message": "m"}}', "application/json", False),
    (b'{"error": {"code": "x", "mess', "application/json", False),  # cut short
    (b"\xff\xfe\x00", "application/json", False),
    (b"[]", "application/json", False),
])
def test_only_the_platform_error_shape_passes(body, content_type, passes):
    assert is_platform_error(body, content_type) is passes


@pytest.mark.parametrize("status, content_type, path, reviewed", [
    (500, "application/json", "/api/v1/jobs", True),
    (502, "text/html", "/admin/auth/", True),
    (404, "text/html; charset=utf-8", "/api/payments/nope", True),  # Django's debug 404 lists every route
    (400, "text/plain", "/api/auth/signup", True),
    (404, "application/json", "/api/v1/jobs/x", False),
    (429, "application/json", "/api/v1/jobs", False),
    (403, "text/html", "/admin/payments/login/", False),  # the admin is HTML by design
    (302, "text/html", "/api/payments/sandbox/checkout/x", False),
    (200, "text/html", "/api/payments/sandbox/checkout/x", False),
])
def test_which_answers_are_reviewed(status, content_type, path, reviewed):
    from app.upstream_errors import needs_review

    assert needs_review(status, content_type, path) is reviewed
