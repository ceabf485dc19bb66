"""Findings 2, 3 and 10: limits belong to the user, not to each of their keys; a key follows
its owner's current tier; a refused submission costs no rate-limit budget."""
from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest

from e2e.flows import eventually, pay_on_hosted_page

from .conftest import LONG_JOB, assert_platform_error, key_headers, make_key

pytestmark = pytest.mark.e2e
MEDIUM_JOB = {"kind": "txt2img", "prompt": "three keys", "width": 256, "height": 256, "steps": 20}


def _submit_together(client, header_sets: list[dict], body: dict) -> list:
    """Fire the submissions at once, one thread each, released by one barrier."""
    barrier = threading.Barrier(len(header_sets))
    answers: list = [None] * len(header_sets)

    def submit(index: int) -> None:
        barrier.wait()
        answers[index] = client.post("/api/v1/jobs", json=body, headers=header_sets[index])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(header_sets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _cancel_all(client, headers, answers) -> None:
    for answer in answers:
        if answer is not None and answer.status_code == 202:
            client.delete(f"/api/v1/jobs/{answer.json()['id']}", headers=headers)


def test_three_keys_of_a_free_user_share_one_live_job(client, person):
    keys = [make_key(client, person, name=f"k{i}") for i in range(3)]
    answers = _submit_together(client, [key_headers(k) for k in keys], MEDIUM_JOB)
    try:
        accepted = [a for a in answers if a.status_code == 202]
        assert len(accepted) == 1, [(a.status_code, a.text[:200]) for a in answers]
        for refused in (a for a in answers if a.status_code != 202):
            assert_platform_error(refused, 429)
    finally:
        _cancel_all(client, person["headers"], answers)


def test_a_key_and_the_session_share_the_rate_limit(client, person):
    """Free: 5 cost units a minute. A 512x512, 30-step image is one unit; four of them spent by
    the session leave one for every key of the same user together."""
    key = make_key(client, person)
    one_unit = {"kind": "txt2img", "prompt": "budget", "width": 512, "height": 512, "steps": 30}
    spent = client.post("/api/v1/jobs", json={**one_unit, "n": 4}, headers=person["headers"])
    assert spent.status_code == 202, spent.text
    client.delete(f"/api/v1/jobs/{spent.json()['id']}", headers=person["headers"])
    eventually(lambda: client.get(f"/api/v1/jobs/{spent.json()['id']}", headers=person["headers"]).json()["status"]
               in ("canceled", "failed", "succeeded"), "the cancel")
    answers = []
    for _ in range(3):
        answers.append(client.post("/api/v1/jobs", json=one_unit, headers=key_headers(key)))
        if answers[-1].status_code == 202:
            client.delete(f"/api/v1/jobs/{answers[-1].json()['id']}", headers=person["headers"])
            eventually(lambda: client.get(f"/api/v1/jobs/{answers[-1].json()['id']}", headers=person["headers"]).json()["status"]
                       in ("canceled", "failed", "succeeded"), "the cancel")
    assert [a.status_code for a in answers].count(202) <= 1, [a.text[:200] for a in answers]
    assert_platform_error(answers[-1], 429, "rate_limited")


def test_refused_submissions_spend_no_rate_limit_budget(client, person):
    running = client.post("/api/v1/jobs", json=LONG_JOB, headers=person["headers"])
    assert running.status_code == 202, running.text
    job_id = running.json()["id"]
    try:
        one_unit = {"kind": "txt2img", "prompt": "refused", "width": 512, "height": 512, "steps": 30}
        for _ in range(6):  # each refused for concurrency (cap 1); together more than the 5 a minute
            refused = client.post("/api/v1/jobs", json=one_unit, headers=person["headers"])
            assert_platform_error(refused, 429)
            assert refused.json()["error"]["code"] != "rate_limited", refused.text
        for _ in range(6):  # refused by validation
            assert_platform_error(client.post("/api/v1/jobs", json={**one_unit, "width": 4096}, headers=person["headers"]), 422)
    finally:
        client.delete(f"/api/v1/jobs/{job_id}", headers=person["headers"])
    eventually(lambda: client.get(f"/api/v1/jobs/{job_id}", headers=person["headers"]).json()["status"]
               in ("canceled", "failed", "succeeded"), "the cancel")
    after = client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "ok", "width": 64, "height": 64, "steps": 2},
                        headers=person["headers"])
    assert after.status_code == 202, after.text


def test_a_key_made_on_free_gets_pro_limits_when_its_owner_upgrades(client, person, platform):
    key = make_key(client, person)
    before = client.get("/api/v1/usage", headers=key_headers(key))
    assert before.status_code == 200, before.text
    assert before.json()["tier"] == "free", before.text
    started = client.post("/api/payments/checkout", json={"plan": "pro-monthly"}, headers=person["headers"])
    assert started.status_code in (200, 201), started.text
    paid = pay_on_hosted_page(platform["base_url"], started.json()["checkout_url"])
    assert paid.status_code in (302, 303), paid.text

    def pro_for_the_key():
        usage = client.get("/api/v1/usage", headers=key_headers(key))
        return usage.status_code == 200 and usage.json()["tier"] == "pro"
    eventually(pro_for_the_key, "the key following its owner to pro", timeout=60)
    # And the limits that come with it: four live jobs where free allows one.
    answers = _submit_together(client, [key_headers(key)] * 3, MEDIUM_JOB)
    try:
        assert [a.status_code for a in answers] == [202, 202, 202], [a.text[:200] for a in answers]
    finally:
        _cancel_all(client, person["headers"], answers)
