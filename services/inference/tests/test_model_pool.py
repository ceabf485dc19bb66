"""Several models on one worker: names, loading on demand, least recently used out first."""
from types import SimpleNamespace

import pytest

from atelier_inference.families import profile
from atelier_inference.model_holder import ModelHolder
from atelier_inference.model_pool import ModelPool, ServedModel, UnknownModel


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def pool(budget=0, names=("default", "sdxl", "flux"), size=100):
    clock, loads = Clock(), []

    def loader(name):
        def load():
            loads.append(name)
            return SimpleNamespace(pipe=SimpleNamespace(components={}), name=name)
        return load

    models = [ServedModel(name, f"/models/{name}", profile("sd1"),
                          ModelHolder(loader(name), idle_unload_s=300, clock=clock, free_memory=lambda: None), size_bytes=size)
              for name in names]
    return ModelPool(models, budget_bytes=budget), loads


def test_default_aliases_and_the_default_folder_name_resolve_to_the_default():
    models, _ = pool()
    assert models.resolve("").name == models.resolve("default").name == models.resolve("/models/default").name == "default"
    assert models.resolve("flux").name == "flux"
    with pytest.raises(UnknownModel, match="not 'sd3'"):
        models.resolve("sd3")


def test_models_load_on_demand_and_stay_without_a_budget():
    models, loads = pool()
    assert not models.is_loaded and not models.is_loaded_for("flux")
    assert models.get("flux")[0].name == "flux"
    assert models.get("flux")[1] == 0.0, "warm the second time"
    models.get("sdxl")
    assert loads == ["flux", "sdxl"] and models.loaded_bytes() == 200
    assert [m["loaded"] for m in models.snapshot()] == [False, True, True]


def test_the_least_recently_used_model_makes_room_under_the_budget():
    models, loads = pool(budget=250)
    models.get("default")
    models.get("sdxl")
    models.get("default")  # now sdxl is the least recently used
    models.get("flux")
    assert {m["name"]: m["loaded"] for m in models.snapshot()} == {"default": True, "sdxl": False, "flux": True}
    assert models.models["sdxl"].holder.unloads == 1 and loads == ["default", "sdxl", "flux"]


def test_a_model_larger_than_the_budget_still_loads_alone():
    models, _ = pool(budget=50)
    models.get("default")
    models.get("flux")
    assert [m["loaded"] for m in models.snapshot()] == [False, False, True]


def test_snapshot_carries_what_the_heartbeat_announces():
    models, _ = pool()
    entry = models.snapshot()[0]
    assert entry["name"] == "default" and entry["family"] == "sd1" and entry["variant"] == "base"
    assert entry["kinds"] == ["txt2img", "img2img", "inpaint"] and entry["limits"]["native_size"] == 512
