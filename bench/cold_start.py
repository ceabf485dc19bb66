"""Scale to zero, measured: what a fresh worker container costs before its first image, and
whether an idle worker gives its model's memory back.

It starts its own compose stack (infra/compose/stack.sh, project atelier-bench, a free port),
signs a user up through the gateway and then, for each round:
  1. idle unload: after a job, the warm worker waits ATELIER_IDLE_UNLOAD_S and unloads its
     model; the container's memory is read before and after;
  2. scale from zero: the worker container is removed (what KEDA does at zero), a job is
     submitted, and a fresh container is created and started; the times from `create` to the
     process's first log line, to the model loaded, to the job started and to the image stored
     are read from the worker's log and the job.

    .venv/bin/python bench/cold_start.py [--rounds 3] [--keep]

The CPU image with the tiny random model here; on a GPU machine, build inference-cuda and
point ATELIER_MODEL at a real model (the README's Deploy section) for figures that mean
something about a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from e2e.flows import eventually, verified_user  # noqa: E402  (the end-to-end tests' sign-up steps)

from atelier_devkit.platform import free_port  # noqa: E402
from atelier_devkit.stack import Stack  # noqa: E402

PROJECT = "atelier-bench"
IDLE_UNLOAD_S = 10


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def worker_log(stack: Stack, since: float) -> list[dict]:
    result = stack.engine("logs", "--since", str(int(since) - 1), stack.container("inference"))
    out = result.stdout + result.stderr  # the worker logs its JSON lines to stderr
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if stamp(line["time"]) >= since - 0.5]


def first(lines: list[dict], text: str) -> float | None:
    for line in lines:
        if text in line.get("message", ""):
            return stamp(line["time"])
    return None


def memory_mib(stack: Stack) -> float:
    out = stack.engine("stats", "--no-stream", "--format", "json", stack.container("inference")).stdout
    usage = json.loads(out)[0]["mem_usage"].split("/")[0].strip()  # e.g. "812.4MB"
    units = {"kB": 1 / 1024, "KB": 1 / 1024, "MB": 1000 * 1000 / 1024 / 1024, "MiB": 1, "GB": 1000 ** 3 / 1024 ** 2, "GiB": 1024, "B": 1 / 1024 / 1024}
    for unit in sorted(units, key=len, reverse=True):
        if usage.endswith(unit):
            return float(usage[: -len(unit)]) * units[unit]
    return float("nan")


def submit(client: httpx.Client, user: dict, prompt: str) -> str:
    response = client.post("/api/v1/jobs", headers=user["headers"], json={
        "kind": "txt2img", "prompt": prompt, "width": 256, "height": 256, "steps": 8, "seed": 1})
    response.raise_for_status()
    return response.json()["id"]


def ended(client: httpx.Client, user: dict, job_id: str, timeout: float = 300) -> dict:
    def done():
        body = client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json()
        return body if body["status"] in ("succeeded", "failed", "canceled") else None
    body = eventually(done, f"job {job_id}", timeout=timeout, interval=0.05)
    assert body["status"] == "succeeded", body
    return body


def cold_round(stack: Stack, client: httpx.Client, user: dict, index: int) -> dict:
    worker = stack.container("inference")
    stack.engine("rm", "-f", "-t", "30", worker)
    job_id = submit(client, user, f"cold start {index}")
    created = time.time()
    up = stack.script("compose", "up", "-d", "--no-deps", "inference", timeout=300)
    assert up.returncode == 0, up.stderr
    final = ended(client, user, job_id)
    done = time.time()
    lines = worker_log(stack, created)
    process = stamp(lines[0]["time"]) if lines else None
    ready = first(lines, "cold start: model ready")
    started = first(lines, "job started")
    return {"round": index, "to_process_s": (process - created) if process else None,
            "to_model_ready_s": (ready - created) if ready else None,
            "to_job_started_s": (started - created) if started else None,
            "to_image_s": stamp(final["finished_at"]) - created if final.get("finished_at") else done - created}


def idle_round(stack: Stack, client: httpx.Client, user: dict, index: int) -> dict:
    ended(client, user, submit(client, user, f"warm {index}"))
    loaded = memory_mib(stack)
    since = time.time()
    eventually(lambda: first(worker_log(stack, since), "model unloaded"), "the idle unload", timeout=IDLE_UNLOAD_S * 6)
    time.sleep(1)
    return {"round": index, "loaded_mib": loaded, "unloaded_mib": memory_mib(stack)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the bench stack running")
    args = parser.parse_args()
    directory = ROOT / "var" / "stack-bench"
    env = {**os.environ, "STACK_DIR": str(directory.relative_to(ROOT)), "STACK_PROJECT": PROJECT,
           "STACK_HTTP_PORT": str(free_port()), "ATELIER_MAIL_HOST_DIR": str(directory / "mail"),
           "ATELIER_IDLE_UNLOAD_S": str(IDLE_UNLOAD_S),
           # With the worker removed, as KEDA does at zero, a job must still be admitted.
           "PRE_INFERENCE_ADMIT_UNSERVED_MODELS": "1"}
    stack = Stack(port=int(env["STACK_HTTP_PORT"]), directory=directory, env=env, project=PROJECT)
    stack.script("destroy", timeout=300)
    up = stack.script("up", timeout=1800)
    if up.returncode != 0:
        print(up.stdout[-3000:], up.stderr[-3000:])
        return 1
    try:
        with httpx.Client(base_url=stack.base_url, timeout=30) as client:
            user = verified_user(client, stack.mail_dir, prefix="bench")
            idle = [idle_round(stack, client, user, i) for i in range(1, args.rounds + 1)]
            cold = [cold_round(stack, client, user, i) for i in range(1, args.rounds + 1)]
    finally:
        if not args.keep:
            stack.script("destroy", timeout=300)
    for row in idle + cold:
        print(json.dumps(row))
    print("\nidle unload (container memory, MiB):")
    print(f"  loaded {statistics.median(r['loaded_mib'] for r in idle):.0f} -> unloaded "
          f"{statistics.median(r['unloaded_mib'] for r in idle):.0f} (median of {len(idle)})")
    print("scale from zero: a fresh worker container, seconds from `create` (median of "
          f"{len(cold)}):")
    for key, label in (("to_process_s", "process logging"), ("to_model_ready_s", "model loaded"),
                       ("to_job_started_s", "job started"), ("to_image_s", "first image stored")):
        values = [r[key] for r in cold if r[key] is not None]
        if values:
            print(f"  {label:<20} {statistics.median(values):6.2f}  (min {min(values):.2f}, max {max(values):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
