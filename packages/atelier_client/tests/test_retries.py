"""Retry-After, backoff and which requests may be repeated."""
from __future__ import annotations

import httpx
import pytest

from atelier_client import Atelier, ConnectionFailed, RateLimited, RetryPolicy
from atelier_client.errors import parse_retry_after

from .conftest import BASE, job_json


def client(handler, **settings) -> Atelier:
    return Atelier(BASE, "atl_live_test", http_client=httpx.Client(transport=httpx.MockTransport(handler)), **settings)


def test_a_429_is_retried_after_the_retry_after_it_names(slept):
    answers = [httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"code": "rate_limited", "message": "slow"}}),
               httpx.Response(202, json=job_json())]
    job = client(lambda request: answers.pop(0)).submit("a lighthouse")
    assert job.status == "queued" and slept == [2.0]


def test_a_503_without_retry_after_backs_off_with_growing_bounded_jitter(slept):
    answers = [httpx.Response(503), httpx.Response(503), httpx.Response(200, json=job_json())]
    client(lambda request: answers.pop(0)).get_job("j1")
    assert len(slept) == 2 and 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0


def test_a_retry_after_longer_than_the_bound_is_raised_at_once(slept):
    refusal = {"error": {"code": "quota_exceeded", "message": "come back tomorrow", "retry_after": 30000}}
    with pytest.raises(RateLimited) as raised:
        client(lambda request: httpx.Response(429, headers={"Retry-After": "30000"}, json=refusal)).submit("x")
    assert raised.value.code == "quota_exceeded" and raised.value.retry_after == 30000 and slept == []


def test_retries_stop_at_max_retries_and_raise_the_last_answer(slept):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {"code": "rate_limited", "message": "m"}})

    with pytest.raises(RateLimited) as raised:
        client(handler, max_retries=2).get_job("j1")
    assert len(calls) == 3 and slept == [1.0, 1.0] and raised.value.retry_after == 1


def test_a_submit_keeps_its_idempotency_key_across_retries(slept):
    keys = []

    def handler(request):
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(502) if len(keys) == 2 else httpx.Response(202, json=job_json())

    client(handler).submit("x")
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0].startswith("atelier-client-")
    other = []
    client(lambda request: other.append(request.headers["Idempotency-Key"]) or httpx.Response(202, json=job_json())).submit("x")
    assert other[0] != keys[0]  # a new key per call


def test_a_given_idempotency_key_is_sent_as_it_is(slept):
    seen = []
    client(lambda request: seen.append(request.headers["Idempotency-Key"]) or httpx.Response(202, json=job_json())).submit(
        "x", idempotency_key="order-42")
    assert seen == ["order-42"]


def test_a_post_without_idempotency_key_is_never_repeated():
    policy = RetryPolicy()
    assert not policy.may_repeat("POST", {}) and policy.may_repeat("POST", {"Idempotency-Key": "k"})
    assert policy.may_repeat("GET", None) and policy.may_repeat("DELETE", None)


def test_connection_errors_are_retried_then_raised(slept):
    def refuse(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(ConnectionFailed) as raised:
        client(refuse, max_retries=3).get_job("j1")
    assert raised.value.code == "connection_error" and len(slept) == 3


def test_other_errors_are_not_retried(slept):
    calls = []
    with pytest.raises(Exception):
        client(lambda request: calls.append(1) or httpx.Response(500, json={"error": {"code": "internal_error", "message": "m"}})).get_job("j1")
    assert calls == [1] and slept == []


def test_retry_after_as_an_http_date_counts_from_now():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("7") == 7.0 and parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_the_async_client_honours_retry_after_too(slept):
    from atelier_client import AsyncAtelier

    answers = [httpx.Response(503, headers={"Retry-After": "3"}), httpx.Response(202, json=job_json())]
    atelier = AsyncAtelier(BASE, "atl_live_test", http_client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: answers.pop(0))))
    async with atelier:
        assert (await atelier.submit("x")).status == "queued"
    assert slept == [3.0]
