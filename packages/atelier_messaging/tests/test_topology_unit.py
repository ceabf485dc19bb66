"""Unit tests: no broker, no database."""
import json

import pytest

from atelier_messaging.schema import outbox_row, pyformat
from atelier_messaging.topology import EVENT_QUEUES, JOBS_EXCHANGE, EVENTS_EXCHANGE, REVOCATION_KEYS, exchange_for

from .conftest import registered


def test_jobs_go_to_the_jobs_exchange_and_facts_to_events():
    assert exchange_for("inference.job.requested") == JOBS_EXCHANGE
    assert exchange_for("auth.user.registered") == EVENTS_EXCHANGE


def test_every_bound_key_has_a_schema():
    from atelier_contracts import known_events

    known = {f"{t}.v{v}" for t, v in known_events()}
    for queue, keys in EVENT_QUEUES.items():
        assert set(keys) <= known, queue
    assert set(REVOCATION_KEYS) <= known


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


# -- worker pools -------------------------------------------------------------------------
def test_the_default_pool_keeps_the_original_queue_and_keys():
    from atelier_messaging.topology import DEFAULT_POOL, JOBS_QUEUE, job_routing_key, jobs_queue, pool_of_routing_key

    assert jobs_queue() == jobs_queue(DEFAULT_POOL) == JOBS_QUEUE == "inference.jobs"
    assert job_routing_key("inference.job.requested.v2") == "inference.job.requested.v2"
    assert pool_of_routing_key("inference.job.requested.v1") == DEFAULT_POOL


def test_another_pool_has_its_own_queue_and_keys():
    from atelier_messaging.topology import is_jobs_queue, job_routing_key, jobs_queue, pool_of_routing_key

    assert jobs_queue("large") == "inference.jobs.large" and is_jobs_queue("inference.jobs.large")
    key = job_routing_key("inference.job.requested.v2", "large")
    assert key == "inference.job.requested.v2.large" and pool_of_routing_key(key) == "large"
    # Not a job's key, or a pool no worker could be named for: none.
    for other in ("auth.user.registered.v1", "inference.job.requested.v9.large", "inference.job.requested.v1.Large"):
        assert pool_of_routing_key(other) is None, other
    assert not is_jobs_queue("inference.jobs.dead") and not is_jobs_queue("payments.events")


@pytest.mark.parametrize("name", ["", "Large", "dead", "retry", "-x", "x-", "a.b", "a" * 33, "big gpu", "é"])
def test_pool_names_that_would_collide_or_not_name_a_kubernetes_object_are_refused(name):
    from atelier_messaging.topology import jobs_queue, valid_pool

    assert not valid_pool(name)
    with pytest.raises(ValueError):
        jobs_queue(name)


def test_an_outbox_row_may_go_to_a_pools_key():
    from atelier_contracts import decode
    from atelier_contracts.registry import example_for
    from atelier_messaging.topology import job_routing_key

    job = decode(json.dumps(example_for("inference.job.requested", 1)))
    row = outbox_row(job, priority=5, routing_key=job_routing_key(job.routing_key, "large"))
    assert row["exchange"] == JOBS_EXCHANGE and row["routing_key"] == "inference.job.requested.v1.large"
