"""Previews during the steps: the latent -> RGB map, the JPEG's bound, how progress and previews
coalesce between the GPU thread and the connection thread, and the models handing over latents."""
import base64
import io
import uuid

import pytest
import torch
from PIL import Image

from atelier_contracts import decode, encode, make_envelope
from atelier_inference import events, preview
from atelier_inference.jobs import JobResult, generate, run_batch
from atelier_inference.pipeline import load_pipeline
from atelier_inference.progress import ProgressBoard
from atelier_storage import FilesystemStorage

from .conftest import job_params


def job(**overrides):
    return {"job_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "params": job_params(**overrides)}


def job_envelope(job_id=None):
    data = {"job_id": job_id or str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "params": job_params(),
            "priority": 1, "deadline_at": "2030-01-01T00:00:00Z"}
    return make_envelope("inference.job.requested", 1, data, producer="pre_inference", correlation_id="c1")


def decoded(url):
    assert url.startswith(preview.DATA_URL_PREFIX)
    image = Image.open(io.BytesIO(base64.b64decode(url.removeprefix(preview.DATA_URL_PREFIX))))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize("latent_size,expected", [((64, 64), (64, 64)), ((8, 12), (8, 12)), ((128, 96), (128, 96)),
                                                   ((256, 128), (128, 64)), ((150, 300), (64, 128))])
def test_latents_map_to_bytes_of_at_most_128_px_keeping_the_aspect(latent_size, expected):
    rgb = preview.latents_to_rgb(torch.randn(4, *latent_size) * 3)
    assert rgb.dtype == torch.uint8 and tuple(rgb.shape) == (*expected, 3)
    assert int(rgb.min()) >= 0 and int(rgb.max()) <= 255


def test_the_map_is_the_linear_approximation_read_as_minus_one_to_one():
    assert tuple(preview.latents_to_rgb(torch.zeros(4, 2, 2))[0, 0].tolist()) == (127, 127, 127)
    channel = torch.zeros(4, 1, 1)
    channel[3] = 1.0  # the fourth channel pulls towards yellow (blue far down)
    r, g, b = preview.latents_to_rgb(channel)[0, 0].tolist()
    assert b < r and b < g and b == int((1 - 0.7177) * 127.5)
    half = preview.latents_to_rgb(torch.full((4, 1, 1), 0.5, dtype=torch.float16))  # the CUDA dtype works too
    assert half.dtype == torch.uint8


def test_other_latents_are_refused():
    with pytest.raises(ValueError, match="4, h, w"):
        preview.latents_to_rgb(torch.zeros(16, 8, 8))  # e.g. an SD3/Flux latent
    with pytest.raises(ValueError):
        preview.latents_to_rgb(torch.zeros(1, 4, 8, 8))


@pytest.mark.parametrize("latent_size", [(64, 64), (128, 128), (200, 40)])
def test_the_jpeg_stays_within_the_contract_s_bound_even_for_noise(latent_size):
    url = preview.start(torch.randn(4, *latent_size) * 4).encode()
    assert url is not None and len(url) <= preview.MAX_DATA_URL_CHARS
    assert max(decoded(url).size) <= preview.MAX_SIDE
    # The progress event carrying it passes its schema (v2).
    envelope = events.progress(job_envelope(), 3, 10, preview=url)
    assert (envelope.version, envelope.data["preview"]) == (2, url)
    assert decode(encode(envelope)).data["preview"] == url


def test_progress_without_a_preview_is_v2_without_the_field():
    envelope = events.progress(job_envelope(), 0, 10, phase="loading")
    assert envelope.version == 2 and "preview" not in envelope.data


class FakeCopy:
    """A CUDA copy still landing: ready only once ``land()`` was called."""

    def __init__(self):
        self.landed = False

    def query(self):
        return self.landed


def test_progress_coalesces_to_each_job_s_newest_step():
    board = ProgressBoard(previews=False)
    a, b = job_envelope(), job_envelope()
    for step in (1, 2, 3):
        board.step(a, step, 10)
    board.step(b, 1, 10)
    assert [(p.job.data["job_id"], p.step, p.preview) for p in board.take()] == [
        (a.data["job_id"], 3, None), (b.data["job_id"], 1, None)]
    assert board.take() == []
    board.offer_latents({a.data["job_id"]: 0}, torch.zeros(1, 4, 8, 8))
    board.step(a, 4, 10)
    assert board.take()[0].preview is None and not board.preview_due, "previews off: never made"


def test_a_preview_is_made_only_when_a_progress_event_will_carry_it(monkeypatch):
    made = []
    real_start = preview.start
    monkeypatch.setattr(preview, "start", lambda latents: made.append(1) or real_start(latents))
    board = ProgressBoard(previews=True)
    a, b = job_envelope(), job_envelope()
    first_images = {a.data["job_id"]: 0, b.data["job_id"]: 2}
    latents = torch.randn(3, 4, 8, 8)
    assert board.preview_due  # the batch's first step brings one
    for step in (1, 2, 3):  # steps between two publications: one preview per job, at the first
        board.step(a, step, 5)
        board.step(b, step, 5)
        board.offer_latents(first_images, latents)
    assert len(made) == 2 and not board.preview_due
    taken = board.take()
    assert [p.step for p in taken] == [3, 3] and all(p.preview and decoded(p.preview) for p in taken)
    # Job b's preview is of its own first image (index 2), not of job a's.
    assert taken[0].preview != taken[1].preview
    assert board.preview_due, "published: the next step may make the next one"
    assert board.take() == [] and board.preview_due


def test_a_preview_still_being_copied_waits_for_the_next_publication_and_blocks_new_ones(monkeypatch):
    copy = FakeCopy()
    monkeypatch.setattr(preview, "start", lambda latents: preview.PendingPreview(preview.latents_to_rgb(latents), copy))
    board = ProgressBoard(previews=True)
    a = job_envelope()
    board.step(a, 1, 5)
    board.offer_latents({a.data["job_id"]: 0}, torch.zeros(1, 4, 8, 8))
    [first] = board.take()
    assert first.preview is None and not board.preview_due, "not landed: not waited for, and no second one queued"
    copy.landed = True
    board.step(a, 2, 5)
    [second] = board.take()
    assert second.step == 2 and second.preview is not None and board.preview_due
    board.step(a, 3, 5)
    board.offer_latents({a.data["job_id"]: 0}, torch.zeros(1, 4, 8, 8))
    board.clear()
    assert board.take() == [] and board.preview_due, "a batch's end drops what is pending"


def test_latents_that_make_no_preview_leave_the_step_alone():
    board = ProgressBoard(previews=True)
    a = job_envelope()
    board.offer_latents({a.data["job_id"]: 0}, torch.zeros(1, 16, 8, 8))  # not SD 1.x/2.x latents
    board.step(a, 1, 5)
    assert [(p.step, p.preview) for p in board.take()] == [(1, None)]


def test_the_null_model_hands_over_a_gradient_that_fades_in(tmp_path):
    loaded = load_pipeline("null")
    jobs = [job(width=96, height=64, steps=3, n=2), job(width=96, height=64, steps=3)]
    seen = []
    outcomes = run_batch(jobs, loaded, FilesystemStorage(tmp_path), on_latents=lambda first, latents: seen.append((first, latents)))
    assert all(isinstance(outcome, JobResult) for outcome in outcomes)
    assert len(seen) == 3 and seen[0][0] == {jobs[0]["job_id"]: 0, jobs[1]["job_id"]: 2}
    assert tuple(seen[0][1].shape) == (3, 4, 8, 12)
    first, last = (decoded(preview.start(latents[0]).encode()) for _, latents in (seen[0], seen[-1]))
    assert first.getextrema() != last.getextrema(), "the picture changes over the steps"
    assert last.getpixel((0, 0)) != last.getpixel((11, 7)), "a gradient, not a plain colour"


def test_without_a_latents_callback_the_null_model_makes_none(tmp_path):
    loaded = load_pipeline("null")
    [done] = run_batch([job(steps=2)], loaded, FilesystemStorage(tmp_path))
    assert isinstance(done, JobResult)


def test_the_tiny_model_hands_over_its_latents_every_step(loaded):
    seen = []
    generate(loaded, job_params(steps=2, width=64, height=64), on_latents=seen.append)
    assert len(seen) == 2 and tuple(seen[0].shape) == (1, 4, 8, 8)
    assert preview.start(seen[-1][0]).encode().startswith(preview.DATA_URL_PREFIX)
