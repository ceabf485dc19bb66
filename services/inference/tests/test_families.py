"""The family registry: detection from a diffusers folder, limits, and the worker's own check."""
import json

import pytest

from atelier_inference import families
from atelier_inference.config import Settings, parse_models
from atelier_inference.families import LimitError, check_job, detect, profile
from atelier_inference.tiny_model import MARKER_FILE

from .conftest import job_params


def folder(tmp_path, class_name, *, name="model", marker=None, **configs):
    path = tmp_path / name
    path.mkdir()
    (path / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    for sub, config in configs.items():
        (path / sub).mkdir()
        (path / sub / ("scheduler_config.json" if sub == "scheduler" else "config.json")).write_text(json.dumps(config))
    if marker is not None:
        (path / MARKER_FILE).write_text(json.dumps(marker))
    return path


@pytest.mark.parametrize("class_name,family", [
    ("StableDiffusionPipeline", "sd1"), ("StableDiffusionXLPipeline", "sdxl"),
    ("StableDiffusion3Pipeline", "sd3"), ("FluxPipeline", "flux"),
])
def test_family_comes_from_the_pipeline_class(tmp_path, class_name, family):
    detected = detect(folder(tmp_path, class_name), MARKER_FILE)
    assert (detected.family, detected.variant) == (family, "base")


def test_sd2_is_told_from_sd1_by_its_text_encoder(tmp_path):
    path = folder(tmp_path, "StableDiffusionPipeline", text_encoder={"hidden_size": 1024})
    assert detect(path, MARKER_FILE).family == "sd2"


@pytest.mark.parametrize("class_name,name,configs,variant", [
    ("FluxPipeline", "flux", {"transformer": {"guidance_embeds": False}}, "schnell"),
    ("FluxPipeline", "flux-dev", {"transformer": {"guidance_embeds": True}}, "base"),
    ("StableDiffusionXLPipeline", "sdxl-turbo", {}, "turbo"),
    ("StableDiffusionXLPipeline", "sdxl", {"scheduler": {"_class_name": "LCMScheduler"}}, "lcm"),
    ("LatentConsistencyModelPipeline", "dreamshaper", {}, "lcm"),
])
def test_few_step_variants_are_detected(tmp_path, class_name, name, configs, variant):
    assert detect(folder(tmp_path, class_name, name=name, **configs), MARKER_FILE).variant == variant


def test_an_unknown_pipeline_class_is_refused(tmp_path):
    with pytest.raises(families.UnknownFamily, match="not one of the supported families"):
        detect(folder(tmp_path, "KandinskyPipeline"), MARKER_FILE)


def test_the_tiny_marker_names_the_family(tmp_path):
    path = folder(tmp_path, "StableDiffusionPipeline", marker={"tiny": True, "family": "sd2", "variant": "turbo"})
    assert (detect(path, MARKER_FILE).family, detect(path, MARKER_FILE).variant) == ("sd2", "turbo")


def test_each_family_knows_its_defaults():
    assert profile("sd1").limits.native_size == 512 and profile("sdxl").limits.native_size == 1024
    assert profile("flux").limits.negative_prompt is False and profile("flux").limits.default_guidance == 3.5
    assert profile("sd3").limits.size_multiple == 16 and profile("sd3").schedulers == ("default",)
    for family, variant in (("sdxl", "turbo"), ("flux", "schnell"), ("sd2", "turbo")):
        limits = profile(family, variant).limits
        assert limits.max_steps <= 8 and limits.default_guidance == limits.max_guidance == 0.0
        assert limits.negative_prompt is False
    assert profile("sd1", "lcm").kinds == ("txt2img", "img2img")
    assert profile("sdxl", "no-such-variant").variant == "base"


@pytest.mark.parametrize("family,variant,overrides,field", [
    ("flux", "base", {"negative_prompt": "blurry"}, "negative_prompt"),
    ("flux", "schnell", {"steps": 9}, "steps"),
    ("flux", "schnell", {"guidance": 1.0}, "guidance"),
    ("sd1", "base", {"width": 2048}, "width"),
    ("sd3", "base", {"height": 72}, "height"),
    ("sd1", "lcm", {"kind": "inpaint"}, "kind"),
])
def test_limits_name_the_field(family, variant, overrides, field):
    with pytest.raises(LimitError) as caught:
        check_job(job_params(**{"guidance": 0.0, "negative_prompt": "", **overrides}), profile(family, variant))
    assert caught.value.field == field


def test_a_job_inside_the_limits_passes():
    check_job(job_params(width=1024, height=1024, steps=4, guidance=0.0), profile("flux", "schnell"))
    check_job(job_params(), profile("sd1"))


def test_models_setting_keeps_atelier_model_as_default():
    settings = Settings(model="null", models="flux=var/models/tiny-flux, sdxl=/abs/sdxl")
    served = settings.served_models
    assert list(served) == ["default", "flux", "sdxl"] and served["default"] == "null"
    assert served["sdxl"] == "/abs/sdxl"
    assert list(Settings(model="null", models="default=/abs/a").served_models.items()) == [("default", "/abs/a")]


@pytest.mark.parametrize("value", ["flux", "=x", "a b=x", "a=x,a=y", "../up=x"])
def test_bad_models_setting_is_refused(value):
    with pytest.raises(ValueError):
        parse_models(value)


def test_a_pools_model_is_served_under_its_own_name_and_never_as_default(tiny_model_dir):
    from atelier_inference.model_pool import UnknownModel, pool_for
    from atelier_inference.pipeline import load_pipeline

    loaded = load_pipeline(str(tiny_model_dir), "cpu")  # this test's own: it gets renamed
    settings = Settings(model=str(tiny_model_dir), model_name="flux-large", models=f"other={tiny_model_dir}")
    assert list(settings.served_models) == ["flux-large", "other"]
    with pytest.raises(ValueError):
        Settings(model_name="../up")
    served = pool_for(settings, loaded)
    # The worker's preload was loaded before its name was known: it takes the served name, which
    # the job's check compares with the job's `model`.
    assert loaded.name == "flux-large" and served.resolve("flux-large").holder.loaded_now
    for alias in ("default", ""):
        with pytest.raises(UnknownModel):
            served.resolve(alias)
