"""The null model (ATELIER_MODEL=null): jobs go through the worker's normal path, but the
pipeline call returns plain images at once; production refuses it."""
import io
import uuid

import pytest
from PIL import Image

from atelier_inference.config import Settings
from atelier_inference.jobs import JobFailure, JobResult, run_batch
from atelier_inference.pipeline import load_pipeline
from atelier_storage import FilesystemStorage

from .conftest import job_params


def job(**overrides):
    return {"job_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "params": job_params(**overrides)}


def stored_image(storage, key):
    return Image.open(io.BytesIO(storage.get_bytes(key)))


def test_settings_hand_the_null_model_to_the_loader_as_is(monkeypatch, tmp_path):
    monkeypatch.setenv("ATELIER_ROOT", str(tmp_path))
    (tmp_path / "null").mkdir()  # even a folder of that name does not turn it into a path
    monkeypatch.setenv("ATELIER_MODEL", "null")
    assert Settings().model_location == "null"


def test_a_batch_runs_through_the_null_model_into_pngs_of_the_asked_size(tmp_path):
    loaded = load_pipeline("null")
    storage = FilesystemStorage(tmp_path)
    jobs = [job(width=96, height=64, steps=3, n=2, seed=7), job(width=96, height=64, steps=3, seed=99)]
    progress = []
    outcomes = run_batch(jobs, loaded, storage, on_progress=lambda j, s, t: progress.append((j, s, t)))
    assert all(isinstance(outcome, JobResult) for outcome in outcomes)
    assert [len(outcome.images) for outcome in outcomes] == [2, 1]
    for data, outcome in zip(jobs, outcomes):
        # Progress is reported per step as with a real model, so the worker's events are the same.
        assert [(s, t) for j, s, t in progress if j == data["job_id"]] == [(1, 3), (2, 3), (3, 3)]
        for image in outcome.images:
            png = stored_image(storage, image["key"])
            assert png.format == "PNG" and png.size == (96, 64) == (image["width"], image["height"])
            assert png.text["job_id"] == data["job_id"]
    first, second = (stored_image(storage, image["key"]).getpixel((0, 0)) for image in outcomes[0].images)
    assert first != second, "each image's colour follows its own seed"


def test_a_single_job_and_an_unknown_scheduler_behave_as_on_a_real_model(tmp_path):
    loaded = load_pipeline("null")
    storage = FilesystemStorage(tmp_path)
    [done] = run_batch([job(width=64, height=128, steps=1)], loaded, storage)
    assert isinstance(done, JobResult) and stored_image(storage, done.images[0]["key"]).size == (64, 128)
    [failed] = run_batch([job(scheduler="nonsense")], loaded, storage)
    assert isinstance(failed, JobFailure) and failed.reason_code == "invalid_params"


def test_production_refuses_the_null_model(monkeypatch):
    monkeypatch.setenv("ATELIER_ENV", "production")
    monkeypatch.setenv("ATELIER_AMQP_URL", "amqp://worker:s3cret-long@mq:5672/atelier")
    monkeypatch.setenv("ATELIER_MODEL", "null")
    with pytest.raises(RuntimeError, match="ATELIER_MODEL=null"):
        Settings().check_production()
    monkeypatch.setenv("ATELIER_ENV", "development")
    Settings().check_production()
