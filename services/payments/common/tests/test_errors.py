"""Unit: every exception becomes ``{"error": {code, message, fields?}}`` with the right status."""
import json

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions, serializers

from atelier_django import exceptions as errors
from atelier_django import json_errors
from atelier_django.serializers import StrictSerializer


def handled(exc):
    response = errors.exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data["error"]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.ParseError("Expecting value: line 1 column 1"), 400, "invalid_json"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.AuthenticationFailed("token has expired", code="token_expired"), 401, "token_expired"),
        (exceptions.AuthenticationFailed("bad signature", code="token_invalid"), 401, "token_invalid"),
        (exceptions.AuthenticationFailed("something else"), 401, "token_invalid"),
        (exceptions.PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (Http404("nope"), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (exceptions.MethodNotAllowed("POST"), 405, "method_not_allowed"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (exceptions.Throttled(wait=3), 429, "rate_limited"),
        (errors.ApiError("not yet", code="customer_not_found", status_code=404), 404, "customer_not_found"),
    ],
)
def test_api_exceptions_map_to_codes(exc, status, code):
    got_status, error = handled(exc)
    assert (got_status, error["code"]) == (status, code)
    assert isinstance(error["message"], str) and error["message"]
    assert "fields" not in error


def test_validation_error_flattens_nested_fields_to_dotted_names():
    exc = exceptions.ValidationError({"plan": ["This field is required."], "address": {"zip": ["Too long."]},
                                      "items": [{}, {"qty": ["Must be positive."]}]})
    status, error = handled(exc)
    assert status == 400
    assert error["code"] == "validation_error"
    assert error["fields"] == {"plan": ["This field is required."], "address.zip": ["Too long."],
                               "items.1.qty": ["Must be positive."]}


def test_validation_error_without_fields_goes_to_non_field_errors():
    _, error = handled(exceptions.ValidationError("bad"))
    assert error["fields"] == {"non_field_errors": ["bad"]}


def test_throttled_sets_retry_after():
    response = errors.exception_handler(exceptions.Throttled(wait=7), {})
    assert response["Retry-After"] == "7"


def test_unexpected_exceptions_are_left_to_the_500_handler():
    assert errors.exception_handler(RuntimeError("boom"), {}) is None


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [(json_errors.handler400, 400, "bad_request"), (json_errors.handler403, 403, "permission_denied"),
     (json_errors.handler404, 404, "not_found")],
)
def test_django_handlers_answer_json(handler, status, code):
    response = handler(RequestFactory().get("/nowhere"), Exception())
    assert response.status_code == status
    assert json.loads(response.content)["error"]["code"] == code


def test_500_handler_answers_json_without_details():
    response = json_errors.handler500(RequestFactory().get("/x"))
    assert response.status_code == 500
    assert json.loads(response.content) == {"error": {"code": "internal_error", "message": "something went wrong on our side"}}


class _Checkout(StrictSerializer):
    plan = serializers.SlugField()


def test_strict_serializer_refuses_unknown_fields_with_field_errors():
    serializer = _Checkout(data={"plna": "pro-monthly", "extra": 1})
    assert not serializer.is_valid()
    assert serializer.errors == {"extra": ["unknown field"], "plna": ["unknown field"],
                                 "plan": ["This field is required."]}


def test_strict_serializer_refuses_non_objects_and_accepts_known_fields():
    assert not _Checkout(data=["pro-monthly"]).is_valid()
    ok = _Checkout(data={"plan": "pro-monthly"})
    assert ok.is_valid(), ok.errors
    assert ok.validated_data == {"plan": "pro-monthly"}
