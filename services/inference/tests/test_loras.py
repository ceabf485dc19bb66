"""LoRA adapters: the folder, the checks, and a real LoRA on the tiny SD model (CPU)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from atelier_contracts import decode, encode, make_envelope
from atelier_inference import events, loras
from atelier_inference.deliveries import Delivery, group_jobs
from atelier_inference.jobs import JobFailure, batch_key, check_params, generate
from atelier_inference.pipeline import LoadedPipeline, load_pipeline
from atelier_inference.tiny_model import build_lora

from .conftest import job_params


@pytest.fixture(scope="module")
def lora_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loras")
    build_lora(tiny_model_dir, folder / "tiny-lora.safetensors")
    build_lora(tiny_model_dir, folder / "other-lora.safetensors", seed=7)
    return folder


@pytest.fixture(scope="module")
def library(lora_dir: Path) -> dict[str, loras.LoraFile]:
    return loras.scan(lora_dir, "sdxl")


@pytest.fixture(scope="module")
def own_pipeline(tiny_model_dir: Path) -> LoadedPipeline:
    """A pipeline of this module's own: adapters loaded here must not leak into other tests' ``loaded``."""
    return load_pipeline(str(tiny_model_dir), "cpu")


def pixels(pairs) -> np.ndarray:
    return np.asarray(pairs[0][0], dtype=np.int16)


def with_loras(*pairs: tuple[str, float]) -> dict:
    return job_params(loras=[{"name": name, "weight": weight} for name, weight in pairs])


# -- the folder -------------------------------------------------------------------
def test_the_sidecar_names_the_family_and_a_file_without_one_is_the_default_models(tmp_path: Path):
    (tmp_path / "styled.safetensors").write_bytes(b"x")
    (tmp_path / "styled.json").write_text(json.dumps({"family": "flux"}))
    (tmp_path / "plain.v2.safetensors").write_bytes(b"x")
    (tmp_path / "bad name!.safetensors").write_bytes(b"x")
    (tmp_path / "odd.safetensors").write_bytes(b"x")
    (tmp_path / "odd.json").write_text(json.dumps({"family": "sd9"}))
    (tmp_path / "broken.safetensors").write_bytes(b"x")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "notes.txt").write_text("not a LoRA")
    found = loras.scan(tmp_path, "sd1")
    assert {name: lora.family for name, lora in found.items()} == {"plain.v2": "sd1", "styled": "flux"}


def test_no_folder_no_loras(tmp_path: Path):
    assert loras.scan(None, "sd1") == {} and loras.scan(tmp_path / "missing", "sd1") == {}


# -- the checks the schema cannot make ---------------------------------------------------
@pytest.mark.parametrize("params,needle", [
    (with_loras(("missing", 1.0)), "no LoRA 'missing'"),
    (with_loras(("tiny-lora", 1.0), ("tiny-lora", 0.5)), "each LoRA once"),
    (with_loras(*[(f"l{i}", 1.0) for i in range(5)]), "at most 4"),
    (with_loras(("tiny-lora", 2.5)), "outside -2..2"),
])
def test_a_lora_the_worker_cannot_apply_is_invalid_params(own_pipeline, library, params, needle):
    with pytest.raises(JobFailure, match=needle) as caught:
        check_params(params, own_pipeline, library)
    assert caught.value.reason_code == "invalid_params"


def test_a_lora_of_another_family_is_refused(own_pipeline, lora_dir):
    sdxl_only = loras.scan(lora_dir, "sd1")
    sdxl_only["tiny-lora"] = loras.LoraFile("tiny-lora", sdxl_only["tiny-lora"].path, "sdxl")
    with pytest.raises(JobFailure, match="is for sdxl, not sd1"):
        check_params(with_loras(("tiny-lora", 1.0)), own_pipeline, sdxl_only)


def test_the_sidecar_of_the_tiny_lora_says_sd1(library):
    # scan's default (sdxl here) is overridden by the sidecar build_lora writes.
    assert {lora.family for lora in library.values()} == {"sd1"}


# -- batching ----------------------------------------------------------------------------
def test_jobs_with_different_lora_sets_never_share_a_call():
    plain, styled, stronger = job_params(), with_loras(("tiny-lora", 1.0)), with_loras(("tiny-lora", 0.5))
    assert len({batch_key(plain), batch_key(styled), batch_key(stronger)}) == 3
    assert batch_key(job_params(loras=[])) == batch_key(plain)  # no LoRA is no LoRA, listed or not

    def delivery(params: dict, job_id: str) -> Delivery:
        return Delivery(None, None, b"", job=make_envelope("inference.job.requested", 2, {
            "job_id": job_id, "user_id": "3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c", "params": params, "priority": 1,
            "deadline_at": "2030-01-01T00:00:00Z"}, producer="pre_inference"))

    ids = [f"7c9e6679-7425-40de-944b-e07fc1f90a{i:02d}" for i in range(4)]
    groups = group_jobs([delivery(plain, ids[0]), delivery(styled, ids[1]), delivery(plain, ids[2]), delivery(styled, ids[3])], 8)
    assert [[d.job_id for d in group] for group in groups] == [[ids[0], ids[2]], [ids[1], ids[3]]]


# -- the heartbeat -----------------------------------------------------------------------
def test_the_heartbeat_announces_the_loras_and_leaves_the_field_out_without_any():
    memory = {"total_bytes": None, "used_bytes": None, "models_bytes": 0, "budget_bytes": None}
    beat = events.heartbeat(worker="w:1", pool="default", device="cpu", interval_s=10, memory=memory, models=[],
                            loras=[{"name": "tiny-lora", "family": "sd1"}])
    assert beat.routing_key == "inference.worker.heartbeat.v3" and beat.data["pool"] == "default"
    assert decode(encode(beat)).data["loras"] == [{"name": "tiny-lora", "family": "sd1"}]
    assert "loras" not in events.heartbeat(worker="w:1", pool="default", device="cpu", interval_s=10, memory=memory, models=[]).data


# -- a real LoRA on the tiny model ----------------------------------------------------------
def test_a_lora_changes_the_picture_and_a_job_without_one_gets_the_plain_models_again(own_pipeline, library):
    baseline = pixels(generate(own_pipeline, job_params(), library=library))
    styled = pixels(generate(own_pipeline, with_loras(("tiny-lora", 1.0)), library=library))
    assert np.abs(styled - baseline).mean() > 1.0
    half = pixels(generate(own_pipeline, with_loras(("tiny-lora", 0.5)), library=library))
    assert np.abs(half - styled).mean() > 0.1 and np.abs(half - baseline).mean() > 0.1
    both = pixels(generate(own_pipeline, with_loras(("tiny-lora", 1.0), ("other-lora", 1.0)), library=library))
    assert np.abs(both - styled).mean() > 0.1
    again = pixels(generate(own_pipeline, job_params(), library=library))
    assert np.array_equal(again, baseline)
    assert np.array_equal(pixels(generate(own_pipeline, with_loras(("tiny-lora", 1.0)), library=library)), styled)


def test_a_loaded_lora_is_not_read_again(own_pipeline, library, monkeypatch):
    generate(own_pipeline, with_loras(("tiny-lora", 1.0)), library=library)
    reads: list[str] = []
    original = own_pipeline.pipe.load_lora_weights
    monkeypatch.setattr(own_pipeline.pipe, "load_lora_weights", lambda *a, **k: (reads.append(k["adapter_name"]), original(*a, **k)))
    before = own_pipeline.adapters.loads
    for weight in (1.0, 0.25, -1.0):
        generate(own_pipeline, job_params(), library=library)
        generate(own_pipeline, with_loras(("tiny-lora", weight)), library=library)
    assert reads == [] and own_pipeline.adapters.loads == before
    assert "tiny-lora" in own_pipeline.adapters.loaded


def test_the_least_recently_used_adapter_makes_room(own_pipeline, library, monkeypatch):
    monkeypatch.setattr(loras, "MAX_CACHED", 1)
    generate(own_pipeline, with_loras(("tiny-lora", 1.0)), library=library)
    generate(own_pipeline, with_loras(("other-lora", 1.0)), library=library)
    assert own_pipeline.adapters.loaded == ["other-lora"]
    assert set(own_pipeline.pipe.get_list_adapters().get("unet", [])) == {"other-lora"}


def test_an_unreadable_lora_fails_the_job_and_leaves_nothing_behind(own_pipeline, library, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    bad = {**library, "broken": loras.LoraFile("broken", broken, "sd1")}
    with pytest.raises(JobFailure, match="cannot be loaded") as caught:
        generate(own_pipeline, with_loras(("broken", 1.0)), library=bad)
    assert caught.value.reason_code == "invalid_params"
    assert "broken" not in own_pipeline.adapters.loaded
