import io
import uuid

import numpy as np
import pytest
from PIL import Image

from atelier_inference.jobs import JobCanceled, JobFailure, JobResult, batch_key, run_batch, run_job
from atelier_storage import FilesystemStorage

from .conftest import job_params


def job(**overrides):
    return {"job_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "params": job_params(**overrides)}


def pixels(storage, key):
    return np.asarray(Image.open(io.BytesIO(storage.get_bytes(key)))).astype(int)


def test_batch_key_groups_only_compatible_txt2img():
    base = job_params()
    assert batch_key(base) == batch_key({**base, "prompt": "other", "seed": 9, "n": 3, "negative_prompt": "x"})
    for change in ({"width": 128}, {"steps": 3}, {"scheduler": "euler"}, {"guidance": 5.0}, {"model": "m"}):
        assert batch_key({**base, **change}) != batch_key(base), change
    assert batch_key({**base, "kind": "img2img"}) is None


def test_batched_jobs_keep_their_own_prompts_and_seeds(loaded, tmp_path):
    together, alone = FilesystemStorage(tmp_path / "batch"), FilesystemStorage(tmp_path / "alone")
    jobs = [job(prompt="a cat", seed=5, n=2), job(prompt="a dog", seed=100, negative_prompt="blurry"), job(prompt="a cat", seed=5)]
    progress = []
    outcomes = run_batch(jobs, loaded, together, on_progress=lambda j, s, t: progress.append((j, s, t)))
    assert all(isinstance(o, JobResult) for o in outcomes)
    assert [[i["seed"] for i in o.images] for o in outcomes] == [[5, 6], [100], [5]]
    assert all(o.timings_ms["batch_jobs"] == 3 for o in outcomes)
    for data in jobs:
        assert [(s, t) for j, s, t in progress if j == data["job_id"]] == [(1, 2), (2, 2)]
    for data, outcome in zip(jobs, outcomes):
        run_job(data, loaded, alone)
        for image in outcome.images:
            diff = np.abs(pixels(together, image["key"]) - pixels(alone, image["key"]))
            assert diff.max() <= 2, "a batched image must be the picture the job makes alone"
    # Different prompt, different picture; same prompt and seed, same picture.
    first, second, third = (pixels(together, o.images[0]["key"]) for o in outcomes)
    assert np.abs(first - second).mean() > 1 and np.abs(first - third).max() <= 2
    meta = together.read_meta(outcomes[1].images[0]["key"])["metadata"]
    assert meta["params"]["negative_prompt"] == "blurry" and meta["job_id"] == jobs[1]["job_id"]


def test_a_job_canceled_in_a_batch_is_dropped_the_others_finish(loaded, tmp_path):
    storage = FilesystemStorage(tmp_path)
    jobs = [job(seed=1), job(seed=2)]
    canceled = {jobs[0]["job_id"]}
    outcomes = run_batch(jobs, loaded, storage, is_canceled=canceled.__contains__)
    assert isinstance(outcomes[0], JobCanceled) and isinstance(outcomes[1], JobResult)
    assert not storage.exists(f"images/{jobs[0]['job_id']}/0.png")


def test_a_batch_stops_at_the_next_step_when_every_job_is_canceled(loaded, tmp_path):
    jobs = [job(steps=5), job(steps=5)]
    seen = []
    outcomes = run_batch(jobs, loaded, FilesystemStorage(tmp_path), on_progress=lambda j, s, t: seen.append(s),
                         is_canceled=lambda _job_id: len(seen) >= 2)
    assert all(isinstance(o, JobCanceled) for o in outcomes) and max(seen) == 1


def test_time_limit_stops_a_job(loaded, tmp_path):
    outcome, = run_batch([job(steps=3)], loaded, FilesystemStorage(tmp_path), time_limit_s=0)
    assert isinstance(outcome, JobFailure) and outcome.reason_code == "time_limit_exceeded"


def test_incompatible_jobs_are_refused(loaded, tmp_path):
    with pytest.raises(ValueError):
        run_batch([job(), job(steps=3)], loaded, FilesystemStorage(tmp_path))
