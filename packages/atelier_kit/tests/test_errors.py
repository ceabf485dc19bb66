"""Unit: the one error body."""
from atelier_kit.errors import error_body, flatten_fields, internal_error_body, invalid_fields_message


def test_the_body_has_code_message_and_fields_only_when_there_are_some():
    assert error_body("not_found", "gone") == {"error": {"code": "not_found", "message": "gone"}}
    assert error_body("validation_error", "bad", {"a": ["x"]})["error"]["fields"] == {"a": ["x"]}


def test_extra_keys_cannot_replace_the_code_or_message():
    body = error_body("rate_limited", "slow down", extra={"retry_after": 3, "code": "forged", "message": "forged"})
    assert body == {"error": {"code": "rate_limited", "message": "slow down", "retry_after": 3}}


def test_a_500_names_the_request_id_and_nothing_else():
    assert internal_error_body() == {"error": {"code": "internal_error", "message": "something went wrong on our side"}}
    body = internal_error_body("req-7")["error"]
    assert body["request_id"] == "req-7" and "req-7" in body["message"]


def test_nested_errors_flatten_to_dotted_names():
    assert flatten_fields({"a": {"b": ["x"]}, "c": [{"d": ["y"]}]}) == {"a.b": ["x"], "c.0.d": ["y"]}
    assert flatten_fields(["top"]) == {"non_field_errors": ["top"]}


def test_a_validation_message_names_each_field_and_what_is_wrong():
    assert invalid_fields_message({"password": ["This password is too short."], "new_email": ["already in use"]}) == (
        "password: This password is too short. new email: already in use.")
    assert invalid_fields_message({"non_field_errors": ["Passwords differ"]}) == "Passwords differ."
    many = invalid_fields_message({f"f{i}": ["unknown field"] for i in range(5)})
    assert many.startswith("f0: unknown field. f1: unknown field. f2: unknown field.") and many.endswith("(2 more fields to fix.)")
    assert invalid_fields_message({}) == "Some of what was sent is not valid."
