import pytest

from atelier_inference.pipeline import SCHEDULERS, ModelLoadError, UnknownScheduler, load_pipeline, make_scheduler


def test_loaded_tiny_model_reports_itself(loaded, tiny_model_dir):
    described = loaded.describe()
    assert described["tiny"] is True
    assert described["device"] == "cpu" and described["dtype"] == "float32"
    assert described["model"] == str(tiny_model_dir)


@pytest.mark.parametrize("name,expected", [
    ("ddim", "DDIMScheduler"), ("euler", "EulerDiscreteScheduler"), ("euler_a", "EulerAncestralDiscreteScheduler"),
    ("dpm++", "DPMSolverMultistepScheduler"), ("pndm", "PNDMScheduler"),
])
def test_scheduler_selection(loaded, name, expected):
    loaded.use_scheduler(name)
    try:
        assert type(loaded.pipe.scheduler).__name__ == expected
        # built from the model's own noise schedule, not a library default
        assert loaded.pipe.scheduler.config.beta_schedule == "scaled_linear"
    finally:
        loaded.use_scheduler("default")
    assert type(loaded.pipe.scheduler).__name__ == "DDIMScheduler"


def test_unknown_scheduler_is_a_clear_error(loaded):
    with pytest.raises(UnknownScheduler, match="unknown scheduler 'heun2'.*ddim"):
        loaded.use_scheduler("heun2")
    assert "default" in SCHEDULERS


def test_default_needs_something_to_return_to(loaded):
    with pytest.raises(UnknownScheduler):
        make_scheduler("default", loaded.pipe.scheduler.config)


def test_missing_folder_is_not_mistaken_for_a_hub_id(tmp_path):
    with pytest.raises(ModelLoadError, match="neither an existing folder"):
        load_pipeline(str(tmp_path / "nope" / "tiny-sd"), "cpu")


def test_folder_without_model_index(tmp_path):
    with pytest.raises(ModelLoadError, match="not a diffusers folder"):
        load_pipeline(str(tmp_path), "cpu")


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_pipeline(str(tmp_path / "model.safetensors"), "cpu")


def test_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="hub id"):
        load_pipeline("someone/some-model", "cpu")


def test_cuda_asked_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_pipeline("whatever", "cuda")
