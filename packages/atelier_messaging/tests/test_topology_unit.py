"""Unit tests: no broker, no database."""
import pytest

from atelier_messaging.schema import outbox_row, pyformat
from atelier_messaging.topology import EVENT_QUEUES, JOBS_EXCHANGE, EVENTS_EXCHANGE, exchange_for

from .conftest import registered


def test_jobs_go_to_the_jobs_exchange_and_facts_to_events():
    assert exchange_for("inference.job.requested") == JOBS_EXCHANGE
    assert exchange_for("auth.user.registered") == EVENTS_EXCHANGE


def test_every_bound_key_has_a_schema():
    from atelier_contracts import known_events

    known = {f"{t}.v{v}" for t, v in known_events()}
    for queue, keys in EVENT_QUEUES.items():
        assert set(keys) <= known, queue


def test_outbox_row_carries_the_encoded_envelope():
    env = registered()
    row = outbox_row(env, priority=3)
    assert row["message_id"] == env.id
    assert row["routing_key"] == "auth.user.registered.v1"
    assert row["exchange"] == EVENTS_EXCHANGE and row["priority"] == 3
    assert env.id in row["body"]


def test_outbox_row_refuses_an_invalid_envelope():
    from dataclasses import replace

    from atelier_contracts import ContractError

    with pytest.raises(ContractError):
        outbox_row(replace(registered(), data={"user_id": "nope"}))


def test_pyformat_translates_named_parameters_only():
    assert pyformat("SELECT :a, '::text', :b_c") == "SELECT %(a)s, '::text', %(b_c)s"
