"""The worker's pieces that need no broker: grouping, cancellations, the model holder, device choice."""
import types
import uuid

import pytest

from atelier_inference.cancellations import CanceledJobs
from atelier_inference.config import Settings
from atelier_inference.model_holder import HolderState, ModelHolder
from atelier_inference.pipeline import ModelLoadError, select_runtime
from atelier_inference.deliveries import group_jobs

from .conftest import job_params


def delivery(**overrides):
    data = {"job_id": str(uuid.uuid4()), "params": job_params(**overrides)}
    return types.SimpleNamespace(job=types.SimpleNamespace(data=data))


def test_grouping_keeps_order_and_bounds_images():
    a1, b1, a2, a3, big, img = (delivery(n=3), delivery(steps=9), delivery(n=3), delivery(n=3), delivery(n=16),
                                delivery(kind="img2img"))
    groups = group_jobs([a1, b1, a2, a3, big, img], max_images=8)
    assert groups == [[a1, a2], [b1], [a3], [big], [img]]
    assert group_jobs([a1, a2, a3], max_images=1) == [[a1], [a2], [a3]]


def test_canceled_jobs_expire_and_are_bounded():
    now = [0.0]
    canceled = CanceledJobs(ttl_s=10, max_entries=3, clock=lambda: now[0])
    canceled.add("a")
    assert "a" in canceled and "b" not in canceled
    now[0] = 11
    canceled.add("b")
    assert "a" not in canceled and "b" in canceled
    for job_id in "cdef":
        canceled.add(job_id)
    assert len(canceled) == 3 and "b" not in canceled and "f" in canceled


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_model_holder_unloads_when_idle_and_reloads_on_demand():
    clock, loads, freed = FakeClock(), [], []
    holder = ModelHolder(lambda: loads.append(1) or object(), idle_unload_s=300, clock=clock, free_memory=lambda: freed.append(1))
    first, load_ms = holder.get()
    assert loads == [1] and load_ms >= 0 and holder.is_loaded
    assert holder.get() == (first, 0.0)  # warm: no load time
    clock.now = 299
    assert not holder.maybe_unload() and holder.is_loaded
    holder.touch()  # a job finished at t=299: the idle clock restarts
    clock.now = 598
    assert not holder.maybe_unload()
    clock.now = 599
    assert holder.maybe_unload() and not holder.is_loaded and freed == [1]
    assert not holder.maybe_unload()  # nothing left to unload
    second, load_ms = holder.get()
    assert second is not first and len(loads) == 2 and holder.loads == 2 and holder.unloads == 1


def test_model_holder_state_is_consistent_for_another_thread():
    """A reader on another thread (the tests, a health probe) must never see the model gone
    while the unload is not yet counted, or loaded while the load is not yet counted."""
    import sys
    import threading

    clock = FakeClock()
    holder = ModelHolder(object, idle_unload_s=1, clock=clock, free_memory=lambda: None)
    stop, torn = threading.Event(), []

    def read() -> None:
        while not stop.is_set():
            state = holder.state()
            if state.loads - state.unloads != (1 if state.loaded else 0):
                torn.append(state)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to expose any window
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3000):
            holder.get()
            clock.now += 2
            assert holder.maybe_unload()
    finally:
        stop.set()
        reader.join()
        sys.setswitchinterval(previous)
    assert torn == []
    assert holder.state() == HolderState(loaded=False, loads=3000, unloads=3000)


def test_model_holder_with_zero_idle_never_unloads():
    clock = FakeClock()
    holder = ModelHolder(object, idle_unload_s=0, clock=clock)
    holder.get()
    clock.now = 10**9
    assert not holder.maybe_unload() and holder.is_loaded


@pytest.mark.parametrize("requested,cuda,expected", [
    (None, True, ("cuda", "float16")),
    (None, False, ("cpu", "float32")),
    ("", True, ("cuda", "float16")),
    ("cpu", True, ("cpu", "float32")),
    ("cuda:1", True, ("cuda:1", "float16")),
])
def test_device_and_dtype_selection(requested, cuda, expected):
    assert select_runtime(requested, cuda) == expected


@pytest.mark.parametrize("family,bf16_supported,expected", [
    ("sd1", True, "float16"),
    ("sdxl", True, "float16"),
    ("flux", True, "bfloat16"),
    ("sd3", True, "bfloat16"),
    ("flux", False, "float16"),  # a GPU without bfloat16 (pre-Ampere) runs it in float16 rather than emulated
])
def test_each_family_runs_on_cuda_in_its_published_dtype(family, bf16_supported, expected):
    from atelier_inference.families import FAMILIES

    cuda_dtype = FAMILIES[family].cuda_dtype
    assert select_runtime("cuda", True, cuda_dtype, bf16_supported) == ("cuda", expected)
    assert select_runtime(None, False, cuda_dtype, bf16_supported) == ("cpu", "float32")


@pytest.mark.parametrize("requested,cuda,message", [
    ("cuda", False, "CUDA is not available"),
    ("cuda:0", False, "CUDA is not available"),
    ("tpu", True, "unknown device"),
    ("cuda:x", True, "unknown device"),
])
def test_impossible_devices_are_refused(requested, cuda, message):
    with pytest.raises(ModelLoadError, match=message):
        select_runtime(requested, cuda)


def test_compile_keeps_its_cache_on_disk(loaded, tmp_path, monkeypatch):
    import copy

    from atelier_inference.pipeline import _maybe_compile

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.delenv("TORCHINDUCTOR_FX_GRAPH_CACHE", raising=False)
    pipe = types.SimpleNamespace(unet=copy.deepcopy(loaded.pipe.unet))
    assert _maybe_compile(pipe, tmp_path / "cache")
    import os

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "cache") and (tmp_path / "cache").is_dir()
    assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == "1"
    assert type(pipe.unet).__name__ == "OptimizedModule"  # compiled lazily, on first call


def test_attention_uses_sdpa(loaded):
    processors = {type(p).__name__ for p in loaded.pipe.unet.attn_processors.values()}
    assert processors == {"AttnProcessor2_0"}


def test_crash_hook_only_in_test_env(monkeypatch):
    assert Settings(env="test", test_crash_prompt="boom").crash_prompt == "boom"
    assert Settings(env="development", test_crash_prompt="boom").crash_prompt is None
    monkeypatch.setenv("ATELIER_AMQP_URL", "amqp://u:secret@mq/atelier")
    monkeypatch.setenv("ATELIER_MODEL", "/models/sd15")
    with pytest.raises(RuntimeError, match="tests only"):
        Settings(env="production", test_crash_prompt="boom").check_production()
    Settings(env="production").check_production()
    with pytest.raises(ValueError):
        Settings(storage_backend="ftp")


def test_heartbeat_probe(tmp_path):
    import os
    import time

    from atelier_inference.probe import Heartbeat, is_fresh, main

    path = tmp_path / "run" / "alive"
    beat = Heartbeat(str(path), every_s=0)
    assert not is_fresh(path, 60) and main(["--file", str(path)]) == 1
    beat.beat()
    assert is_fresh(path, 60) and main(["--file", str(path), "--max-age", "60"]) == 0
    old = time.time() - 120
    os.utime(path, (old, old))
    assert not is_fresh(path, 60)
    beat.clear()
    assert not path.exists()
    Heartbeat(None).beat()  # disabled: does nothing
