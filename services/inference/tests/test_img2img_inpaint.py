import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from atelier_inference.jobs import JobFailure, run_job
from atelier_storage import FilesystemStorage

from .conftest import job_params

JOB_ID = "5b1e8a44-7f0c-4a51-9c2e-3d9f6b0a1c22"


@pytest.fixture
def storage(tmp_path):
    storage = FilesystemStorage(tmp_path)
    rng = np.random.default_rng(0)
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        picture = np.clip(np.array(colour) + rng.integers(-20, 20, (80, 80, 3)), 0, 255).astype("uint8")
        storage.put_bytes(f"uploads/{name}.png", _png(Image.fromarray(picture)), content_type="image/png")
    storage.put_bytes("uploads/keep.png", _png(Image.new("L", (64, 64), 0)), content_type="image/png")
    storage.put_bytes("uploads/repaint.png", _png(Image.new("L", (64, 64), 255)), content_type="image/png")
    storage.put_bytes("uploads/junk.png", b"not an image", content_type="image/png")
    return storage


def _png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def job(**overrides):
    return {"job_id": JOB_ID, "user_id": "3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c", "params": job_params(**overrides)}


def out(storage, index=0):
    return np.asarray(Image.open(io.BytesIO(storage.get_bytes(f"images/{JOB_ID}/{index}.png")))).astype(int)


def test_variants_share_the_loaded_modules(loaded):
    for kind in ("img2img", "inpaint"):
        variant = loaded.variant(kind)
        assert type(variant).__name__ == {"img2img": "StableDiffusionImg2ImgPipeline", "inpaint": "StableDiffusionInpaintPipeline"}[kind]
        for name in ("unet", "vae", "text_encoder", "tokenizer"):
            assert getattr(variant, name) is getattr(loaded.pipe, name), name


def test_img2img_depends_on_the_init_image_and_runs_strength_of_the_steps(loaded, storage, tmp_path):
    calls = []
    run_job(job(kind="img2img", init_image_key="uploads/red.png", strength=0.5, steps=4), loaded, storage,
            on_progress=lambda s, t: calls.append((s, t)))
    assert calls == [(1, 2), (2, 2)]  # strength 0.5 of 4 steps
    red = out(storage)
    assert red.shape == (64, 64, 3)
    run_job(job(kind="img2img", init_image_key="uploads/red.png", strength=0.5, steps=4), loaded, storage)
    assert np.array_equal(out(storage), red)  # reproducible
    run_job(job(kind="img2img", init_image_key="uploads/blue.png", strength=0.5, steps=4), loaded, storage)
    assert np.abs(out(storage) - red).mean() > 1  # the init image matters


def test_inpaint_with_a_4_channel_unet_keeps_what_the_mask_keeps(loaded, storage):
    assert loaded.pipe.unet.config.in_channels == 4
    base = dict(kind="inpaint", init_image_key="uploads/red.png", steps=3)
    run_job(job(**base, mask_key="uploads/keep.png", seed=1, prompt="a"), loaded, storage)
    kept_a = out(storage)
    run_job(job(**base, mask_key="uploads/keep.png", seed=1, prompt="b"), loaded, storage)
    # An all-black mask keeps every latent of the init image: the prompt cannot change it.
    # (The seed could: it samples the VAE's latent distribution of the init image.)
    assert np.array_equal(out(storage), kept_a)
    run_job(job(**base, mask_key="uploads/repaint.png", seed=1, prompt="b"), loaded, storage)
    assert np.abs(out(storage) - kept_a).mean() > 1  # an all-white mask repaints: the prompt shows


def test_inpaint_with_a_9_channel_unet(loaded, storage):
    """Real inpainting checkpoints take latents + mask + masked-image latents (9 channels)."""
    from diffusers import UNet2DConditionModel

    config = dict(loaded.pipe.unet.config)
    config["in_channels"] = 9
    unet = UNet2DConditionModel.from_config(config)
    pipe = loaded.pipe.__class__(**{**loaded.pipe.components, "unet": unet})
    nine = dataclasses.replace(loaded, pipe=pipe)
    result = run_job(job(kind="inpaint", init_image_key="uploads/red.png", mask_key="uploads/repaint.png", steps=2),
                     nine, storage)
    assert result.images[0]["width"] == 64 and out(storage).shape == (64, 64, 3)


@pytest.mark.parametrize("overrides,code", [
    ({"kind": "img2img"}, "invalid_params"),
    ({"kind": "inpaint", "init_image_key": "uploads/red.png"}, "invalid_params"),
    ({"kind": "img2img", "init_image_key": "uploads/nope.png"}, "input_missing"),
    ({"kind": "img2img", "init_image_key": "../../etc/passwd"}, "invalid_params"),
    ({"kind": "img2img", "init_image_key": "uploads/junk.png"}, "invalid_input"),
    ({"kind": "inpaint", "init_image_key": "uploads/red.png", "mask_key": "uploads/junk.png"}, "invalid_input"),
    ({"kind": "img2img", "init_image_key": "uploads/red.png", "strength": 0}, "invalid_params"),
    ({"kind": "img2img", "init_image_key": "uploads/red.png", "strength": 0.2, "steps": 4}, "invalid_params"),  # no step
])
def test_bad_inputs_fail_with_a_reason(loaded, storage, overrides, code):
    with pytest.raises(JobFailure) as caught:
        run_job(job(**overrides), loaded, storage)
    assert caught.value.reason_code == code
    assert not storage.exists(f"images/{JOB_ID}/0.png")
