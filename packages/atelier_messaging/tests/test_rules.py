"""The delivery rules both consumer faces (blocking and asyncio) apply."""
import json

from atelier_contracts import encode

from atelier_messaging import rules

from .conftest import registered


def handler(envelope, tx):
    pass


def body_of(envelope):
    body = encode(envelope)
    return body.encode() if isinstance(body, str) else body


def test_a_valid_message_with_a_handler_is_accepted():
    envelope = registered()
    decision = rules.accept(body_of(envelope), {"auth.user.registered.v1": handler}, "payments.events")
    assert isinstance(decision, rules.Accepted)
    assert decision.envelope.id == envelope.id and decision.handler is handler


def test_broken_bodies_and_unhandled_types_are_refused():
    assert isinstance(rules.accept(b"not json", {"auth.user.registered.v1": handler}, "q"), rules.Refused)
    bad = json.loads(encode(registered()))
    bad["data"]["tier"] = "platinum"
    assert isinstance(rules.accept(json.dumps(bad).encode(), {"auth.user.registered.v1": handler}, "q"), rules.Refused)
    unhandled = rules.accept(body_of(registered()), {}, "q")
    assert isinstance(unhandled, rules.Refused) and unhandled.envelope is not None
    assert "no handler for auth.user.registered.v1" in unhandled.reason


def test_failures_retry_with_exponential_delay_then_dead_letter():
    headers = None
    delays = []
    for _ in range(4):
        decision = rules.after_failure(headers, max_attempts=5, retry_base_delay_ms=500)
        assert isinstance(decision, rules.Retry)
        delays.append(decision.delay_ms)
        headers = decision.headers
    assert delays == [500, 1000, 2000, 4000]
    assert headers[rules.ATTEMPTS_HEADER] == 4
    assert rules.after_failure(headers, max_attempts=5, retry_base_delay_ms=500) == rules.DeadLetter(5)


def test_retry_keeps_other_headers_and_does_not_change_the_original():
    original = {"traceparent": "00-abc-def-01", rules.ATTEMPTS_HEADER: 1}
    decision = rules.after_failure(original, max_attempts=5, retry_base_delay_ms=10)
    assert decision.headers == {"traceparent": "00-abc-def-01", rules.ATTEMPTS_HEADER: 2}
    assert original[rules.ATTEMPTS_HEADER] == 1


def test_one_attempt_allowed_dead_letters_the_first_failure():
    assert rules.after_failure({}, max_attempts=1, retry_base_delay_ms=10) == rules.DeadLetter(1)


def test_a_run_is_never_larger_than_the_prefetch_nor_empty():
    assert rules.batch_limit(16, 4) == 4
    assert rules.batch_limit(0, 16) == 1
    assert rules.batch_limit(8, 16) == 8
