import io
import json

import numpy as np
import pytest
from PIL import Image

from atelier_inference.jobs import JobCanceled, JobFailure, run_job
from atelier_storage import FilesystemStorage

from .conftest import job_params

JOB_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def job(**overrides):
    return {"job_id": JOB_ID, "user_id": "3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c", "params": job_params(**overrides)}


@pytest.fixture
def storage(tmp_path):
    return FilesystemStorage(tmp_path)


def pixels(storage, key):
    return np.asarray(Image.open(storage.path_for(key)))


@pytest.mark.parametrize("width,height", [(64, 64), (128, 96)])
def test_generates_real_png_of_the_asked_size(loaded, storage, width, height):
    result = run_job(job(width=width, height=height), loaded, storage)
    assert result.images == [{"key": f"images/{JOB_ID}/0.png", "seed": 1234, "width": width,
                              "height": height, "content_type": "image/png"}]
    data = storage.path_for(result.images[0]["key"]).read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (width, height) and image.mode == "RGB"
    assert set(result.timings_ms) == {"load", "generate", "store"}
    assert result.timings_ms["generate"] > 0


def test_same_seed_same_pixels_other_seed_other_pixels(loaded, tmp_path):
    stores = [FilesystemStorage(tmp_path / name) for name in ("a", "b", "c")]
    run_job(job(seed=7), loaded, stores[0])
    run_job(job(seed=7), loaded, stores[1])
    run_job(job(seed=8), loaded, stores[2])
    a, b, c = (pixels(s, f"images/{JOB_ID}/0.png") for s in stores)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_each_image_of_a_batch_keeps_a_reproducible_seed(loaded, tmp_path):
    batch, single = FilesystemStorage(tmp_path / "batch"), FilesystemStorage(tmp_path / "single")
    result = run_job(job(seed=40, n=2), loaded, batch)
    assert [image["seed"] for image in result.images] == [40, 41]
    run_job(job(seed=41, n=1), loaded, single)
    second, alone = pixels(batch, f"images/{JOB_ID}/1.png"), pixels(single, f"images/{JOB_ID}/0.png")
    # Batched float math may differ in the last bit; the picture must be the same one.
    assert np.abs(second.astype(int) - alone.astype(int)).max() <= 2


def test_progress_reported_per_step(loaded, storage):
    calls = []
    run_job(job(steps=3, scheduler="ddim"), loaded, storage, on_progress=lambda step, total: calls.append((step, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_params_travel_in_png_text_and_storage_metadata(loaded, storage):
    result = run_job(job(prompt="red fox", seed=99, negative_prompt="blurry"), loaded, storage)
    key = result.images[0]["key"]
    text = Image.open(storage.path_for(key)).text
    params = json.loads(text["parameters"])
    assert params["prompt"] == "red fox" and params["negative_prompt"] == "blurry"
    assert params["seed"] == 99 and params["steps"] == 2 and params["tiny_model"] is True
    assert text["seed"] == "99" and text["job_id"] == JOB_ID
    meta = storage.read_meta(key)
    assert meta["content_type"] == "image/png"
    assert meta["metadata"]["job_id"] == JOB_ID and meta["metadata"]["params"]["prompt"] == "red fox"


def test_cancellation_stops_the_job(loaded, storage):
    steps = []
    with pytest.raises(JobCanceled):
        run_job(job(steps=5), loaded, storage, on_progress=lambda s, t: steps.append(s), should_cancel=lambda: len(steps) >= 2)
    assert steps == [1, 2]
    assert not storage.exists(f"images/{JOB_ID}/0.png")


@pytest.mark.parametrize("overrides,code", [
    ({"kind": "img2img"}, "invalid_params"),
    ({"scheduler": "warp9"}, "invalid_params"),
    ({"model": "stabilityai/sdxl"}, "model_unavailable"),
])
def test_jobs_this_worker_cannot_do_fail_with_a_reason(loaded, storage, overrides, code):
    with pytest.raises(JobFailure) as caught:
        run_job(job(**overrides), loaded, storage)
    assert caught.value.reason_code == code


def test_model_named_by_its_folder_is_accepted(loaded, storage):
    result = run_job(job(model="tiny-sd"), loaded, storage)
    assert len(result.images) == 1


def test_storage_failure_is_reported(loaded, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(JobFailure) as caught:
        run_job(job(), loaded, FilesystemStorage(blocker))
    assert caught.value.reason_code == "storage_error"
