"""Each family's tiny random model, and a few-step variant of each, loads through the worker's real
path and generates on the CPU."""
import io
import json

import pytest
from PIL import Image

from atelier_inference.jobs import JobFailure, run_job
from atelier_inference.pipeline import load_pipeline
from atelier_storage import FilesystemStorage

from .conftest import job_params

FAMILIES = {"sdxl": ("StableDiffusionXLPipeline", 5.0), "sd3": ("StableDiffusion3Pipeline", 5.0), "flux": ("FluxPipeline", 3.5)}


@pytest.fixture
def storage(tmp_path):
    storage = FilesystemStorage(tmp_path / "storage")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(buffer, format="PNG")
    storage.put_bytes("uploads/u1/init.png", buffer.getvalue(), content_type="image/png")
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, format="PNG")
    storage.put_bytes("uploads/u1/mask.png", buffer.getvalue(), content_type="image/png")
    return storage


@pytest.mark.parametrize("family", FAMILIES)
def test_every_kind_of_every_family_generates(family, tiny_family_dir, storage):
    loaded = load_pipeline(str(tiny_family_dir(family)), "cpu")
    class_name, guidance = FAMILIES[family]
    assert type(loaded.pipe).__name__ == class_name and loaded.tiny
    assert (loaded.profile.family, loaded.profile.variant) == (family, "base")
    for index, kind in enumerate(loaded.profile.kinds):
        inputs = {} if kind == "txt2img" else {"init_image_key": "uploads/u1/init.png", "strength": 1.0}
        if kind == "inpaint":
            inputs["mask_key"] = "uploads/u1/mask.png"
        steps = []
        data = {"job_id": f"00000000-0000-4000-8000-00000000000{index}", "user_id": "u1",
                "params": job_params(kind=kind, guidance=guidance, steps=2, **inputs)}
        result = run_job(data, loaded, storage, on_progress=lambda s, t: steps.append((s, t)))
        assert result.images[0]["width"] == result.images[0]["height"] == 64, kind
        assert steps and steps[-1][0] == steps[-1][1], kind


def test_flux_refuses_a_negative_prompt_and_sd3_a_ddpm_sampler(tiny_family_dir, storage):
    flux = load_pipeline(str(tiny_family_dir("flux")), "cpu")
    with pytest.raises(JobFailure) as caught:
        run_job({"job_id": "00000000-0000-4000-8000-000000000010", "params": job_params(negative_prompt="blurry")}, flux, storage)
    assert caught.value.reason_code == "invalid_params" and "negative prompt" in caught.value.message
    sd3 = load_pipeline(str(tiny_family_dir("sd3")), "cpu")
    with pytest.raises(JobFailure) as caught:
        run_job({"job_id": "00000000-0000-4000-8000-000000000011", "params": job_params(scheduler="ddim")}, sd3, storage)
    assert caught.value.reason_code == "invalid_params"


def test_a_family_model_is_built_once_and_labelled(tiny_family_dir, capsys):
    from atelier_inference.tiny_model import MARKER_FILE, ensure, is_complete

    out = tiny_family_dir("sd3")
    assert is_complete(out, "sd3") and not is_complete(out, "flux") and not is_complete(out)
    assert json.loads((out / MARKER_FILE).read_text())["family"] == "sd3"
    assert ensure(out, family="sd3") is False and "already complete" in capsys.readouterr().out
    assert list(out.glob("*/*.safetensors")) and not list(out.glob("*/*.bin"))


def _distilled(base, out, variant):
    """A few-step variant made from a tiny family model the way real ones differ from their base
    (so the worker detects it from the folder, as it does a downloaded one): LCM by its scheduler,
    FLUX.1 [schnell] by a transformer without a guidance embedding, Turbo by its name."""
    import shutil

    from atelier_inference.tiny_model import MARKER_FILE

    shutil.copytree(base, out)
    if variant in ("lcm", "schnell"):  # saved whole by diffusers, as a published model is
        import torch
        from diffusers import AutoPipelineForText2Image, FluxTransformer2DModel, LCMScheduler

        pipe = AutoPipelineForText2Image.from_pretrained(str(base), local_files_only=True)
        if variant == "lcm":
            pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)
        else:
            torch.manual_seed(7)
            pipe.transformer = FluxTransformer2DModel.from_config({**pipe.transformer.config, "guidance_embeds": False})
        pipe.save_pretrained(str(out), safe_serialization=True)
    marker = json.loads((out / MARKER_FILE).read_text())
    assert "variant" not in marker  # detected from the folder, not told
    return out


@pytest.mark.parametrize("family,variant", [("sd1", "lcm"), ("sdxl", "turbo"), ("sd3", "turbo"), ("flux", "schnell")])
def test_few_step_variants_generate_within_their_own_limits(family, variant, tiny_model_dir, tiny_family_dir, storage,
                                                            tmp_path):
    base = tiny_model_dir if family == "sd1" else tiny_family_dir(family)
    loaded = load_pipeline(str(_distilled(base, tmp_path / f"tiny-{family}-{variant}", variant)), "cpu")
    assert (loaded.profile.family, loaded.profile.variant) == (family, variant)
    limits = loaded.profile.limits
    assert limits.default_steps <= 4 and limits.max_steps <= 8 and not limits.negative_prompt
    for index, kind in enumerate(loaded.profile.kinds):
        inputs = {} if kind == "txt2img" else {"init_image_key": "uploads/u1/init.png", "strength": 1.0}
        if kind == "inpaint":
            inputs["mask_key"] = "uploads/u1/mask.png"
        data = {"job_id": f"00000000-0000-4000-8000-00000000002{index}", "user_id": "u1",
                "params": job_params(kind=kind, guidance=limits.default_guidance, steps=limits.default_steps, **inputs)}
        result = run_job(data, loaded, storage)
        assert result.images[0]["width"] == 64, kind
    if variant == "lcm":  # "default" is the model's own sampler: the consistency one it was distilled for
        assert type(loaded.pipe.scheduler).__name__ == "LCMScheduler"
    # the variant's own limits, not its family's: more steps than it was distilled for, or guidance
    # (and so a negative prompt) it was distilled without, are refused before the model runs
    refused = [job_params(steps=limits.max_steps + 1, guidance=limits.default_guidance),
               job_params(guidance=limits.max_guidance + 1.0), job_params(guidance=limits.default_guidance, negative_prompt="blurry")]
    for index, params in enumerate(refused):
        with pytest.raises(JobFailure) as caught:
            run_job({"job_id": f"00000000-0000-4000-8000-00000000003{index}", "params": params}, loaded, storage)
        assert caught.value.reason_code == "invalid_params"
