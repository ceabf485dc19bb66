import copy
import json

import pytest

from atelier_contracts import ContractError, decode, encode, make_envelope
from atelier_contracts.lock import problems
from atelier_contracts.registry import EXAMPLE_DIR, example_for, known_events

EVENTS = known_events()


def test_catalogue_is_not_empty():
    assert ("auth.user.registered", 1) in EVENTS
    assert ("inference.job.succeeded", 1) in EVENTS


@pytest.mark.parametrize("event_type,version", EVENTS, ids=[f"{t}.v{v}" for t, v in EVENTS])
def test_every_schema_has_a_valid_example(event_type, version):
    raw = example_for(event_type, version)
    assert raw["type"] == event_type and raw["version"] == version
    env = decode(json.dumps(raw))
    assert decode(encode(env)) == env


def test_every_example_has_a_schema():
    for path in EXAMPLE_DIR.glob("*/v*.json"):
        assert (path.parent.name, int(path.stem[1:])) in EVENTS, path


def test_published_schemas_are_frozen():
    assert problems() == []


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda r: r.pop("id"), "'id' is a required property"),
        (lambda r: r.update(id="not-a-uuid"), "uuid"),
        (lambda r: r.update(version=0), "minimum"),
        (lambda r: r.update(extra=1), "Additional properties"),
        (lambda r: r["data"].pop("email"), "'email' is a required property"),
        (lambda r: r["data"].update(tier="platinum"), "platinum"),
        (lambda r: r["data"].update(registered_at="yesterday"), "date-time"),
        (lambda r: r.update(type="auth.user.vanished"), "no schema"),
    ],
)
def test_decode_refuses_what_breaks_the_contract(mutate, needle):
    raw = copy.deepcopy(example_for("auth.user.registered", 1))
    mutate(raw)
    with pytest.raises(ContractError, match=needle):
        decode(json.dumps(raw))


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"\xff\xfe"])
def test_decode_refuses_non_objects(body):
    with pytest.raises(ContractError):
        decode(body)


def test_make_envelope_validates_at_the_source():
    with pytest.raises(ContractError):
        make_envelope("inference.job.progress", 1, {"job_id": "x", "step": -1, "total_steps": 0}, producer="t")
    env = make_envelope(
        "inference.job.progress", 1,
        {"job_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "step": 1, "total_steps": 2},
        producer="inference", correlation_id="c1",
    )
    assert env.routing_key == "inference.job.progress.v1"
    assert decode(encode(env)).correlation_id == "c1"


def test_validated_once_and_copies_start_over():
    """make_envelope and decode validate, so encode need not; a copy with other data must."""
    from dataclasses import replace

    env = make_envelope(
        "inference.job.progress", 1,
        {"job_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "step": 1, "total_steps": 2}, producer="inference",
    )
    assert env.validated and decode(encode(env)).validated
    forged = replace(env, data={"job_id": "x", "step": -1, "total_steps": 0})
    assert not forged.validated
    with pytest.raises(ContractError):
        encode(forged)


@pytest.mark.parametrize(
    "preview,needle",
    [
        ("data:image/jpeg;base64," + "A" * 16384, "is too long"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "does not match"),
        ("https://example.com/x.jpg", "does not match"),
        ("data:image/jpeg;base64,<script>", "does not match"),
    ],
)
def test_a_progress_preview_is_a_small_image_data_url(preview, needle):
    raw = copy.deepcopy(example_for("inference.job.progress", 2))
    assert raw["data"]["preview"].startswith("data:image/jpeg;base64,")
    raw["data"]["preview"] = preview
    with pytest.raises(ContractError, match=needle):
        decode(json.dumps(raw))


def test_progress_v2_without_a_preview_is_v1_plus_nothing():
    data = {"job_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "step": 3, "total_steps": 9, "phase": "generating"}
    assert make_envelope("inference.job.progress", 2, data, producer="inference").routing_key == "inference.job.progress.v2"
