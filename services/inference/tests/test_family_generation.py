"""Each family's tiny random model loads through the worker's real path and generates on the CPU."""
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
