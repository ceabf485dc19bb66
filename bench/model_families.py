"""The worker's model families on a GPU: SD 1.5, SDXL base 1.0 and FLUX.1 [schnell].

Each is built with random weights from its published architecture (family_archs.py; no download:
the compute and the memory are those of the trained models, the pictures are noise), saved once
as a diffusers folder (safetensors) in a temporary folder on the local disk, and served the way
the worker serves several models: a ModelPool whose memory budget, set before each request, fits
the incoming model alone, so asking for the next one unloads the last (least recently used). Per architecture it prints:

  - bare:      the pipeline call alone at the native size and usual steps (SD 1.5 512 px 30 steps,
               SDXL 1024 px 30 steps, schnell 1024 px 4 steps), median of --repeat after a warm-up
  - platform:  the same job through atelier_inference.jobs.run_job (family limits, scheduler, CPU
               generators, PNG encoding, storage write), and its ratio to bare
  - swap:      what a job pays when its model is not resident: unloading the previous model,
               loading this one from disk, and its first image; sd15 is asked for again after
               flux, so every model is measured coming in after another one
  - GPU memory: resident weights, peak through the first image, peak while generating
               (torch.cuda.max_memory_allocated), and what stayed allocated after an unload

then one JSON line with every figure (and --out FILE with the same). Each model loads through the
worker's own load_pipeline, so in the dtype the worker gives its family on CUDA (families.py:
SD 1.5 and SDXL float16, FLUX bfloat16, as published); each swap records the dtype it loaded in.

    python bench/model_families.py                          # CUDA: all three, --repeat 3
    python bench/model_families.py --only sdxl,flux --repeat 5 --out var/bench/families.json
    python bench/model_families.py --tiny                   # anywhere: the tiny families on the CPU

--tiny runs the tiny random families the project builds (atelier_inference.tiny_model: sd1, sdxl,
flux) on the CPU at 128 px and a few steps: it smoke-tests every code path here; its figures say
nothing about a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services" / "inference"))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402

from atelier_inference import pipeline as worker_pipeline  # noqa: E402
from atelier_inference.jobs import run_job  # noqa: E402
from atelier_inference.model_holder import ModelHolder  # noqa: E402
from atelier_inference.model_pool import ModelPool, ServedModel, size_on_disk, weights_bytes  # noqa: E402
from atelier_inference.pipeline import LoadedPipeline, load_pipeline, profile_of  # noqa: E402
from atelier_inference.tiny_model import ensure as ensure_tiny  # noqa: E402
from atelier_storage import FilesystemStorage  # noqa: E402
from family_archs import ARCHS, Arch, build_random, params_for  # noqa: E402
from gpu_pipeline import job, median_s, sync  # noqa: E402

GIB = 2**30
def drop_page_cache(folder: Path) -> bool:
    """Asks the kernel to forget the folder's pages, so that the load reads the disk, not memory
    (a model just written is all in the page cache). Advice only: a sandboxed kernel may ignore it."""
    try:
        for path in folder.rglob("*"):
            if path.is_file():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)  # dirty pages cannot be dropped
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
        return True
    except (OSError, AttributeError):
        return False


# --- serving them the worker's way -----------------------------------------------------------

def free_device_memory() -> None:
    from atelier_inference.model_holder import free_accelerator_memory

    free_accelerator_memory()


def allocated_gib() -> float | None:
    return round(torch.cuda.memory_allocated() / GIB, 2) if torch.cuda.is_available() else None


class TimedHolder(ModelHolder):
    """The worker's ModelHolder, noting how long its last unload took and what the device still
    had allocated after it (0 for this process once the model is really gone)."""

    last_unload_s: float | None = None
    allocated_after_unload_gib: float | None = None

    def unload(self) -> bool:
        started = time.perf_counter()
        unloaded = super().unload()
        sync()
        self.last_unload_s = time.perf_counter() - started
        self.allocated_after_unload_gib = allocated_gib()
        return unloaded


def loader_for(arch: Arch, location: Path, device: str) -> Callable[[], LoadedPipeline]:
    def load() -> LoadedPipeline:
        # The previous model is gone by now (ModelPool makes room before loading): from here the
        # peak is this model's own.
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        loaded = load_pipeline(str(location), device)
        loaded.name = arch.name
        sync()
        return loaded

    return load


def swap_in(pool: ModelPool, arch: Arch, previous: str | None, params: dict[str, Any], storage: FilesystemStorage,
            keep_page_cache: bool) -> dict[str, Any]:
    """Ask the pool for a model that is not resident, as a job would, and make its first image."""
    served = pool.models[arch.name]
    location = Path(served.location)
    dropped = False if keep_page_cache else drop_page_cache(location)
    # Room for this model alone: the pool must unload every other one first. (One budget for the
    # whole run cannot do that here: it must hold FLUX's 31 GiB, and SD 1.5 and SDXL fit in it together.)
    pool.budget_bytes = int(max(served.size_bytes, size_on_disk(str(location))) * 1.05)
    started = time.perf_counter()
    loaded, load_ms = pool.get(arch.name)
    sync()
    resident = time.perf_counter()
    weights = allocated_gib()
    run_job(job(params), loaded, storage)
    sync()
    done = time.perf_counter()
    victim = pool.models[previous].holder if previous else None
    figures = {
        "from": previous,
        "budget_gib": round(pool.budget_bytes / GIB, 2),
        "unload_s": round(victim.last_unload_s, 3) if victim is not None and victim.last_unload_s is not None else None,
        "allocated_after_unload_gib": victim.allocated_after_unload_gib if victim is not None else None,
        "load_s": round(load_ms / 1000, 2),
        "first_image_s": round(done - resident, 3),
        "total_s": round(done - started, 2),
        "size_on_disk_gib": round(size_on_disk(str(location)) / GIB, 2),
        "read_gib_per_s": round(size_on_disk(str(location)) / GIB / (load_ms / 1000), 2) if load_ms else None,
        "page_cache": "kept" if keep_page_cache else ("drop asked" if dropped else "drop failed"),
        "weights_gib": weights,
        "weights_counted_gib": round(weights_bytes(loaded.pipe) / GIB, 2),
        "dtype": str(loaded.dtype).removeprefix("torch."),
        # The budget fits one model: this must name only the one just loaded.
        "resident_after": [m.name for m in pool.models.values() if m.holder.loaded_now],
    }
    if torch.cuda.is_available():
        figures["peak_first_image_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
    return figures


def bench_resident(loaded: LoadedPipeline, params: dict[str, Any], storage: FilesystemStorage,
                   repeat: int) -> dict[str, Any]:
    """bare vs platform on the resident model (the swap's first image was the platform's warm-up)."""
    pipe = loaded.pipe
    loaded.use_scheduler(params["scheduler"])
    bare_args = dict(prompt=params["prompt"], width=params["width"], height=params["height"],
                     num_inference_steps=params["steps"], guidance_scale=params["guidance"], output_type="pil")
    if loaded.profile.limits.negative_prompt:
        bare_args["negative_prompt"] = params["negative_prompt"] or None

    def bare() -> Any:
        return pipe(**bare_args, generator=[torch.Generator("cpu").manual_seed(params["seed"])])

    store_ms: list[float] = []

    def platform() -> None:
        store_ms.append(run_job(job(params), loaded, storage).timings_ms["store"])

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    bare_s = median_s(bare, repeat)
    platform_s = median_s(platform, repeat, warm=0)
    figures = {"bare_s": round(bare_s, 3), "platform_s": round(platform_s, 3),
               "platform_vs_bare": round(platform_s / bare_s, 3),
               "store_ms": round(statistics.median(store_ms), 1), "repeat": repeat}
    if torch.cuda.is_available():
        figures["peak_generating_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
    return figures


# --- the run -----------------------------------------------------------------------------------

def environment(device: str, archs: list[Arch], args: argparse.Namespace) -> dict[str, Any]:
    import diffusers
    import transformers

    cuda = device.startswith("cuda")
    return {
        "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({platform.processor() or platform.machine()})",
        "torch": torch.__version__, "cuda": torch.version.cuda, "diffusers": diffusers.__version__,
        "transformers": transformers.__version__, "python": platform.python_version(),
        "dtypes": {a.name: (a.dtype if cuda else "float32") for a in archs},
        "mode": "real architectures, random weights" if cuda else "tiny families, CPU (smoke test only)",
        "repeat": args.repeat,
    }


def prepare(archs: list[Arch], workdir: Path, device: str, tiny: bool) -> tuple[dict[str, Path], dict[str, Any]]:
    """Every model saved once as a diffusers folder; returns their folders and build figures."""
    locations: dict[str, Path] = {}
    built: dict[str, Any] = {}
    for arch in archs:
        # The tiny FLUX has a guidance embedding: a folder named "schnell" would make it one.
        target = workdir / "models" / (f"tiny-{arch.tiny_family}" if tiny else arch.folder)
        started = time.perf_counter()
        if tiny:
            ensure_tiny(target, family=arch.tiny_family)
            locations[arch.name] = target
            built[arch.name] = {"build_and_save_s": round(time.perf_counter() - started, 2)}
            continue
        pipe, millions = build_random(arch, workdir, device)
        sync()
        built_at = time.perf_counter()
        need, free = weights_bytes(pipe), shutil.disk_usage(workdir).free
        figures: dict[str, Any] = {"params_millions": millions, "build_s": round(built_at - started, 2),
                                   "weights_gib": round(need / GIB, 2)}
        if need * 1.05 + 2 * GIB > free:
            figures["skipped"] = f"not enough disk in {workdir}: needs {need / GIB:.1f} GiB, {free / GIB:.1f} GiB free"
            print(f"{arch.name}: {figures['skipped']}; it is left out", flush=True)
        else:
            pipe.save_pretrained(str(target), safe_serialization=True)
            figures["save_s"] = round(time.perf_counter() - built_at, 2)
            locations[arch.name] = target
        built[arch.name] = figures
        print(json.dumps({"built": arch.name, **figures}), flush=True)
        del pipe
        free_device_memory()
    return locations, built


def run(archs: list[Arch], args: argparse.Namespace, device: str, workdir: Path,
        report: Callable[[str, dict[str, Any]], None]) -> dict[str, dict[str, Any]]:
    tiny = not device.startswith("cuda")
    results: dict[str, dict[str, Any]] = {arch.name: {"label": arch.label} for arch in archs}
    locations, built = prepare(archs, workdir, device, tiny)
    for name, figures in built.items():
        results[name]["build"] = figures
    served_archs = [arch for arch in archs if arch.name in locations]
    if not served_archs:
        return results
    if not args.keep_page_cache:
        for location in locations.values():
            drop_page_cache(location)  # written back now, not during the first timed load
    storage = FilesystemStorage(workdir / "storage")
    models = [ServedModel(a.name, str(locations[a.name]), profile_of(str(locations[a.name])),
                          TimedHolder(loader_for(a, locations[a.name], device), idle_unload_s=0))
              for a in served_archs]
    pool = ModelPool(models)  # its budget is set before each request (swap_in)
    # Each model in turn, then the first again: every one is measured coming in after another.
    order = [*served_archs, served_archs[0]] if len(served_archs) > 1 else served_archs
    previous: str | None = None
    for index, arch in enumerate(order):
        params = params_for(arch, tiny)
        result = results[arch.name]
        result.update(size=f"{params['width']}x{params['height']}", steps=params["steps"], guidance=params["guidance"])
        try:
            result.setdefault("swaps", []).append(swap_in(pool, arch, previous, params, storage, args.keep_page_cache))
            if index < len(served_archs):
                loaded, _ = pool.get(arch.name)
                result.update(bench_resident(loaded, params, storage, args.repeat))
                del loaded  # the pool's holder keeps the only reference: its unload frees the weights
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory: report it, go on with the next model
            result["error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        previous = arch.name
        report(arch.name, result)
    for model in pool.models.values():
        model.holder.unload()
    return results


def table(name: str, arch: Arch, r: dict[str, Any], dtype: str) -> str:
    lines = [f"\n== {name}: {r['label']}, {dtype}, {r.get('size', '?')}, {r.get('steps', '?')} steps, "
             f"guidance {r.get('guidance', '?')}"]
    build = r.get("build", {})
    if "params_millions" in build:
        lines.append(f"  parameters (M)        {', '.join(f'{k} {v}' for k, v in build['params_millions'].items())}")
        lines.append(f"  build / save          {build['build_s']} s / {build.get('save_s', '-')} s, "
                     f"{build['weights_gib']} GiB of weights")
    if "skipped" in build:
        lines.append(f"  skipped               {build['skipped']}")
    if "bare_s" in r:
        lines.append(f"  bare                  {r['bare_s']:.3f} s  (median of {r['repeat']})")
        lines.append(f"  platform (run_job)    {r['platform_s']:.3f} s  = {r['platform_vs_bare']:.3f} x bare; "
                     f"PNG + storage {r['store_ms']} ms")
    for swap in r.get("swaps", []):
        left = swap["allocated_after_unload_gib"]
        unload = "nothing to unload, " if not swap["from"] else f"unload {swap['from']} {swap['unload_s']} s" + (
            f" (left {left} GiB allocated), " if left is not None else ", ")
        lines.append(f"  swap in               {unload}load {swap['load_s']} s ({swap['size_on_disk_gib']} GiB, "
                     f"{swap['read_gib_per_s']} GiB/s, page cache {swap['page_cache']}), first image "
                     f"{swap['first_image_s']} s; total {swap['total_s']} s; "
                     f"resident after: {', '.join(swap['resident_after'])} (budget {swap['budget_gib']} GiB)")
    first = (r.get("swaps") or [{}])[0]
    if first.get("weights_gib") is not None:
        lines.append(f"  GPU memory            weights {first['weights_gib']} GiB, peak through first image "
                     f"{first.get('peak_first_image_gib')} GiB, peak generating {r.get('peak_generating_gib')} GiB")
    if "error" in r:
        lines.append(f"  FAILED                {r['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(ARCHS), help=f"comma-separated, of: {', '.join(ARCHS)}")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per figure (default 3 on CUDA, 2 tiny)")
    parser.add_argument("--tiny", action="store_true", help="the tiny families on the CPU (smoke test)")
    parser.add_argument("--out", default=None, help="also write every figure to this JSON file")
    parser.add_argument("--workdir", default=None, help="where the models are saved (default: a temporary folder)")
    parser.add_argument("--keep-page-cache", action="store_true",
                        help="load from the page cache (a model read recently) instead of asking to drop it first")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ARCHS]
    if unknown or not names:
        parser.error(f"--only: unknown {', '.join(unknown) or '(nothing)'}; choose from {', '.join(ARCHS)}")
    if not args.tiny and not torch.cuda.is_available():
        print(f"model_families: CUDA is not available (torch {torch.__version__}, built for CUDA "
              f"{torch.version.cuda or 'none'}); this bench measures a GPU. Run it with --tiny for the CPU "
              "smoke test.", file=sys.stderr)
        return 2
    device = "cpu" if args.tiny else "cuda"
    import diffusers.utils.logging

    diffusers.utils.logging.set_verbosity_error()  # advisories about casting random modules: noise here
    args.repeat = args.repeat or (2 if args.tiny else 3)
    archs = [ARCHS[n] for n in names]
    if args.tiny:
        worker_pipeline.limit_cpu_threads("cpu", None)  # as the worker does on the CPU: every core but one
    env = environment(device, archs, args)
    print(json.dumps({"bench": "model_families", **env}), flush=True)
    out = Path(args.out) if args.out else None
    partial: dict[str, Any] = {}

    def report(name: str, result: dict[str, Any]) -> None:
        # Each model's figures as soon as they exist, so a run cut short keeps what it measured.
        print(json.dumps({"arch": name, **result}), flush=True)
        partial[name] = result
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"bench": "model_families", **env, "results": partial}, indent=2) + "\n")

    started = time.perf_counter()
    workdir = nullcontext(args.workdir) if args.workdir else tempfile.TemporaryDirectory(prefix="atelier-families-")
    with workdir as folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        results = run(archs, args, device, Path(folder), report)
    for arch in archs:
        print(table(arch.name, arch, results[arch.name], env["dtypes"][arch.name]))
    summary = {"bench": "model_families", **env, "wall_s": round(time.perf_counter() - started, 1), "results": results}
    print("\n" + json.dumps(summary), flush=True)
    if out is not None:
        out.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if any("error" in r or "skipped" in r.get("build", {}) for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
