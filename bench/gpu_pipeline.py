"""GPU worker benchmark: the bare diffusers call vs. the same job through the worker's code.

On CUDA it builds the SD 1.5 and SD-Turbo (SD 2.1 architecture) pipelines with random
weights at 512x512 in float16 (the compute is that of the trained models; no download) and
prints, per recipe:
  - bare:     the pipeline call alone (what /work/shared/bench/sd_floor.py estimates)
  - worker:   the same job through atelier_inference.jobs.run_job (scheduler switch, CPU
              generators, PNG encoding, storage write), and its ratio to bare
  - broker:   optional (--amqp-url): publish inference.job.requested -> Worker (real RabbitMQ)
              -> inference.job.succeeded received, and its ratio to bare
  - images/s at batch 1, 4 and 16 (one job with n images, and bare)
  - cold start: load_pipeline from disk (safetensors) + the first image, what a worker pays
              after scale-to-zero or an idle unload
Without CUDA (or with --tiny) it runs the tiny random model on the CPU, so it can be
smoke-tested anywhere; those figures say nothing about a GPU.

    .venv/bin/python bench/gpu_pipeline.py                    # what the machine has
    .venv/bin/python bench/gpu_pipeline.py --compile          # + torch.compile (UNet)
    .venv/bin/python bench/gpu_pipeline.py --tiny --repeat 2  # CPU smoke test
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services" / "inference"))

import torch  # noqa: E402

from atelier_inference.jobs import run_job  # noqa: E402
from atelier_inference.pipeline import LoadedPipeline, load_pipeline  # noqa: E402
from atelier_inference.tiny_model import ensure as ensure_tiny, write_tokenizer_files  # noqa: E402
from atelier_storage import FilesystemStorage  # noqa: E402

SD15_UNET = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
SD21_UNET = dict(SD15_UNET, cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True)
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
           sample_size=512, down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
CLIP_L = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
              max_position_embeddings=77, hidden_act="quick_gelu")
CLIP_H = dict(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
              max_position_embeddings=77, hidden_act="gelu")
SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                 clip_sample=False, set_alpha_to_one=False, steps_offset=1)

# name -> (unet, text encoder, scheduler name for the job, steps, guidance)
RECIPES = {
    "sd15": (SD15_UNET, CLIP_L, "ddim", 25, 7.5),
    "sd-turbo": (SD21_UNET, CLIP_H, "euler_a", 1, 0.0),
}


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median_s(fn: Callable[[], Any], repeat: int, warm: int = 1) -> float:
    for _ in range(warm):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build_random(arch: str, out: Path, dtype: torch.dtype) -> Path:
    """A real-architecture pipeline with random weights, saved like a checkpoint (for the cold start)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    unet_cfg, clip_cfg, *_ = RECIPES[arch]
    torch.manual_seed(0)
    tokenizer_dir = out / "tokenizer-src"
    tokenizer_dir.mkdir(parents=True, exist_ok=True)
    write_tokenizer_files(tokenizer_dir)  # byte-level vocabulary: token ids stay < vocab_size
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL(**VAE), text_encoder=CLIPTextModel(CLIPTextConfig(**clip_cfg)),
        tokenizer=CLIPTokenizer.from_pretrained(str(tokenizer_dir), model_max_length=77),
        unet=UNet2DConditionModel(**unet_cfg), scheduler=DDIMScheduler(**SCHEDULER),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    ).to(dtype=dtype)
    target = out / arch
    pipe.save_pretrained(str(target), safe_serialization=True)
    del pipe
    return target


def job(params: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"job_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "params": {**params, **overrides}}


def through_broker(loaded: LoadedPipeline, params: dict[str, Any], amqp_url: str, storage: FilesystemStorage,
                   repeat: int, gpu: ThreadPoolExecutor) -> float:
    """Publish a job, let a real Worker (this process, its own thread) run it, wait for its outcome."""
    import threading

    from atelier_contracts import make_envelope
    from atelier_inference.config import Settings
    from atelier_inference.worker import Worker
    from atelier_messaging.connection import connect
    from atelier_messaging.publisher import Publisher
    from atelier_messaging.topology import EVENTS_EXCHANGE, declare_topology

    worker = Worker(Settings(amqp_url=amqp_url, worker_name="bench", idle_unload_s=0), loaded, storage, gpu_thread=gpu)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    connection = connect(amqp_url)
    channel = connection.channel()
    declare_topology(channel)
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=queue, exchange=EVENTS_EXCHANGE, routing_key="inference.job.succeeded.v1")
    channel.queue_bind(queue=queue, exchange=EVENTS_EXCHANGE, routing_key="inference.job.failed.v1")
    publisher = Publisher(amqp_url)
    outcomes: dict[str, dict[str, Any]] = {}
    # Pushed to us, and waited for without polling: a polling loop here would compete with the
    # worker's threads for this process's GIL and show up as the worker's time.
    channel.basic_consume(queue, lambda _ch, _m, _p, body: outcomes.update({json.loads(body)["data"]["job_id"]: json.loads(body)}),
                          auto_ack=True)

    def one() -> None:
        data = {**job(params), "priority": 5, "deadline_at": "2099-01-01T00:00:00Z"}
        publisher.publish(make_envelope("inference.job.requested", 1, data, producer="bench", correlation_id="bench"), priority=5)
        while data["job_id"] not in outcomes:
            connection.process_data_events(time_limit=None)
        event = outcomes.pop(data["job_id"])
        if event["type"] != "inference.job.succeeded":
            raise RuntimeError(f"job failed: {event['data']}")

    try:
        return median_s(one, repeat)
    finally:
        publisher.close()
        connection.close()
        worker.stop()
        thread.join(timeout=60)


def bench_arch(name: str, model_dir: Path, device: str, params: dict[str, Any], args: argparse.Namespace,
               workdir: Path, gpu: ThreadPoolExecutor) -> dict[str, Any]:
    result: dict[str, Any] = {"arch": name, "device": device, "size": f"{params['width']}x{params['height']}",
                              "steps": params["steps"], "guidance": params["guidance"], "compile": args.compile}
    storage = FilesystemStorage(workdir / "storage")

    def on_gpu(fn: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: gpu.submit(fn).result()

    # Cold start: what the worker pays after an idle unload or a scale from zero.
    started = time.perf_counter()
    loaded = on_gpu(lambda: load_pipeline(str(model_dir), device, compile_unet=args.compile,
                                          compile_cache_dir=workdir / "inductor"))()
    sync()
    result["cold_load_s"] = round(time.perf_counter() - started, 2)
    on_gpu(lambda: run_job(job(params), loaded, storage))()
    sync()
    result["cold_start_to_first_image_s"] = round(time.perf_counter() - started, 2)

    pipe = loaded.pipe
    loaded.use_scheduler(params["scheduler"])

    def bare(batch: int) -> Callable[[], Any]:
        def call() -> Any:
            generator = [torch.Generator("cpu").manual_seed(i) for i in range(batch)]
            return pipe(prompt=params["prompt"], negative_prompt=params["negative_prompt"] or None, width=params["width"],
                        height=params["height"], num_inference_steps=params["steps"], guidance_scale=params["guidance"],
                        num_images_per_prompt=batch, generator=generator, output_type="pil")
        return call

    result["bare_ms"] = round(median_s(on_gpu(bare(1)), args.repeat) * 1000, 1)
    result["worker_ms"] = round(median_s(on_gpu(lambda: run_job(job(params), loaded, storage)), args.repeat) * 1000, 1)
    result["worker_vs_bare"] = round(result["worker_ms"] / result["bare_ms"], 3)
    if args.amqp_url:
        result["broker_ms"] = round(through_broker(loaded, params, args.amqp_url, storage, args.repeat, gpu) * 1000, 1)
        result["broker_vs_bare"] = round(result["broker_ms"] / result["bare_ms"], 3)
    for batch in args.batches:
        try:
            seconds = median_s(on_gpu(lambda: run_job(job(params, n=batch), loaded, storage)), max(1, args.repeat // 2))
            bare_s = median_s(on_gpu(bare(batch)), max(1, args.repeat // 2))
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory at 16: report, go on
            result[f"images_per_s_b{batch}"] = f"failed: {type(exc).__name__}"
            continue
        result[f"images_per_s_b{batch}"] = round(batch / seconds, 2)
        result[f"bare_images_per_s_b{batch}"] = round(batch / bare_s, 2)
    if device.startswith("cuda"):
        result["max_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    loaded = pipe = None  # drop the weights before the next architecture is built
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="sd15,sd-turbo", help="comma-separated: sd15, sd-turbo")
    parser.add_argument("--tiny", action="store_true", help="the tiny random model on the CPU (smoke test)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet (cache on disk)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batches", default="1,4,16")
    parser.add_argument("--size", type=int, default=None, help="image side in pixels (default 512 on CUDA, 128 tiny)")
    parser.add_argument("--amqp-url", default=None, help="also run each job through a Worker and this RabbitMQ vhost")
    args = parser.parse_args(argv)
    args.batches = [int(b) for b in args.batches.split(",") if b]
    cuda = torch.cuda.is_available() and not args.tiny
    device = "cuda" if cuda else "cpu"
    print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if cuda else "cpu",
                      "mode": "real architectures, random weights, float16" if cuda else "tiny model, CPU (smoke test only)"}),
          flush=True)
    results = []
    # Every torch call on one thread, the one the broker run's Worker generates on too: PyTorch
    # gives each calling thread a CPU pool of its own, and two pools on the same cores slow
    # both (on the 2-core machine the tiny model's call took 2x once a second thread had run it).
    gpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")
    with gpu, tempfile.TemporaryDirectory(prefix="atelier-bench-") as tmp:
        workdir = Path(tmp)
        if cuda:
            targets = []
            for arch in args.arch.split(","):
                unet_cfg, clip_cfg, scheduler, steps, guidance = RECIPES[arch]
                size = args.size or 512
                params = {"kind": "txt2img", "prompt": "a lighthouse on a cliff at dusk, oil painting",
                          "negative_prompt": "" if guidance == 0 else "blurry", "width": size, "height": size,
                          "steps": steps, "guidance": guidance, "seed": 1, "scheduler": scheduler, "n": 1, "model": "default"}
                model_dir = gpu.submit(build_random, arch, workdir / "models", torch.float16).result()
                targets.append((arch, model_dir, params))
        else:
            tiny = workdir / "models" / "tiny-sd"
            gpu.submit(ensure_tiny, tiny).result()
            size = args.size or 128
            targets = [("tiny", tiny, {"kind": "txt2img", "prompt": "a lighthouse", "negative_prompt": "", "width": size,
                                       "height": size, "steps": 4, "guidance": 7.5, "seed": 1, "scheduler": "ddim",
                                       "n": 1, "model": "default"})]
        for name, model_dir, params in targets:
            result = bench_arch(name, model_dir, device, params, args, workdir, gpu)
            print(json.dumps(result), flush=True)
            results.append(result)
    print("\narch        bare ms   worker ms  ratio   img/s b1/b4/b16        cold start s")
    for r in results:
        ips = "/".join(str(r.get(f"images_per_s_b{b}", "-")) for b in args.batches)
        print(f"{r['arch']:<10} {r['bare_ms']:>9} {r['worker_ms']:>10} {r['worker_vs_bare']:>6}   {ips:<22} "
              f"{r['cold_start_to_first_image_s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
