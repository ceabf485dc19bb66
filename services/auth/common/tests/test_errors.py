"""Unit tests of the error document, the strict serializer base and the JSON parser."""
import io

import pytest
from atelier_django.strict_json import StrictJSONParser
from rest_framework import exceptions, serializers

from common.errors import ApiError, PayloadTooLarge, exception_handler, flatten_fields
from common.serializers import StrictSerializer


def handle(exc):
    response = exception_handler(exc, {})
    return response.status_code, response.data["error"]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.ParseError("bad"), 400, "invalid_json"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.AuthenticationFailed("x", code="token_expired"), 401, "token_expired"),
        (exceptions.AuthenticationFailed("x"), 401, "token_invalid"),
        (exceptions.PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (exceptions.Throttled(wait=3), 429, "rate_limited"),
        (PayloadTooLarge(), 413, "payload_too_large"),
    ],
)
def test_exceptions_map_to_codes(exc, status, code):
    got_status, error = handle(exc)
    assert (got_status, error["code"]) == (status, code)
    assert isinstance(error["message"], str) and error["message"]
    assert "fields" not in error


def test_validation_errors_carry_fields():
    status, error = handle(exceptions.ValidationError({"email": ["bad"], "nested": {"a": ["worse"]}}))
    assert status == 400
    assert error == {"code": "validation_error", "message": "email: bad. nested.a: worse.",
                     "fields": {"email": ["bad"], "nested.a": ["worse"]}}


def test_a_refusal_with_fields_and_no_message_names_what_is_wrong():
    status, error = handle(ApiError(code="validation_error", fields={"credit_pack": ["there is no pack by that name"]}))
    assert status == 400
    assert error == {"code": "validation_error", "message": "credit pack: there is no pack by that name.",
                     "fields": {"credit_pack": ["there is no pack by that name"]}}


def test_flatten_handles_lists_and_plain_strings():
    assert flatten_fields(["oops"]) == {"non_field_errors": ["oops"]}
    assert flatten_fields({"items": [{"x": ["a"]}, {}]}) == {"items.0.x": ["a"]}


def test_throttled_sets_retry_after_and_auth_errors_keep_challenge():
    response = exception_handler(exceptions.Throttled(wait=7), {})
    assert response["Retry-After"] == "7"
    exc = exceptions.NotAuthenticated()
    exc.auth_header = 'Bearer realm="atelier"'
    assert exception_handler(exc, {})["WWW-Authenticate"] == 'Bearer realm="atelier"'


def test_unexpected_exceptions_are_left_to_django():
    assert exception_handler(RuntimeError("bug"), {}) is None


class Sample(StrictSerializer):
    name = serializers.CharField()


def test_strict_serializer_names_unknown_fields():
    serializer = Sample(data={"name": "a", "admin": True, "zz": 1})
    assert not serializer.is_valid()
    assert serializer.errors == {"admin": ["unknown field"], "zz": ["unknown field"]}


def test_strict_serializer_still_rejects_non_objects():
    serializer = Sample(data=["name"])
    assert not serializer.is_valid()
    assert "non_field_errors" in serializer.errors


@pytest.mark.parametrize("body", [b"{", b'{"a": NaN}', b"\xff\xfe", b""])
def test_parser_refuses_invalid_json(body):
    with pytest.raises(exceptions.ParseError):
        StrictJSONParser().parse(io.BytesIO(body))


def test_parser_bounds_body_size(settings):
    settings.MAX_JSON_BODY_BYTES = 10
    with pytest.raises(PayloadTooLarge):
        StrictJSONParser().parse(io.BytesIO(b'{"a": "0123456789"}'))
    assert StrictJSONParser().parse(io.BytesIO(b'{"a": 1}')) == {"a": 1}
