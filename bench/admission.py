"""Admission on this machine: how fast the platform accepts jobs, what each costs in CPU, and
how soon a client learns that one finished, beside a bare Redis-push endpoint as the yardstick.

    .venv/bin/python bench/admission.py                                  # 1 and 50 clients, 10 s per phase
    .venv/bin/python bench/admission.py --clients 1,50 --seconds 5 --json var/bench/admission.json
    .venv/bin/python bench/admission.py --clients 50 --no-yardstick

It starts a platform of its own as tests/conftest.py does (a fresh database, vhost, Redis prefix
and ports; migrate.sh; platform.sh start), with the worker's null model (ATELIER_MODEL=null:
the real worker, but the pipeline call returns plain images at once, so the figures are the
platform's and not the tiny model's) and the free tier's limits raised through
PRE_INFERENCE_TIER_FREE_* so that no limit paces the run. It stops and tears all of it down at
the end, also on errors, Ctrl-C and SIGTERM. For each client count (every client has a fresh, verified
account of its own):

  admission   each client submits small jobs (64x64, 1 step) back to back for --seconds and
              times POST /api/v1/jobs until its 202; it does not follow them. The worker is
              paused (SIGSTOP) meanwhile, so the phase measures admission (the API, its
              transaction, the relay's publish) and not job handling on the same cores; it
              drains them after. CPU seconds of every platform process, the servers and this
              client over the phase, per accepted job.
  round trip  each client submits a job, follows it on GET /api/v1/jobs/{id}/events until it
              ends, and submits the next: finished -> notified is the time the client read the
              terminal event minus the job's finished_at (both clocks are this machine's).
  yardstick   the same load generator against bench/yardstick.py (FastAPI + pydantic + one
              Redis LPUSH, one process): what this machine gives the simplest admission.

Targets (issue 14, 2 cores, durable admission): >= 500 accepted/s at 50 clients; submit -> 202
p50 <= 10 ms and p99 <= 50 ms at 50 clients, <= 5 ms at 1 client; finished -> notified p50 <= 10 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import time
import uuid
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import aiohttp
import psutil
import psycopg

from atelier_devkit.running import PlatformDidNotStart, running_platform as started_platform
from atelier_devkit.testing import provision, teardown

# bench/, beside this script
from admission_report import print_report
from bench_processes import cleanup_uninterrupted, running_yardstick
from cpu_accounting import CpuWindow, cpu_ms_per_job, platform_processes, server_processes, with_bench_client
from platform_overhead import finished_at, verification_token

ROOT = Path(__file__).resolve().parents[1]
UNLIMITED = 1_000_000_000
# Every bench account is on the free tier; these lift what would pace the run (checked on
# /api/v1/usage before measuring). The concurrency cap must go: admission does not wait for jobs.
TIER_OVERRIDES = {f"PRE_INFERENCE_TIER_FREE_{name.upper()}": name
                  for name in ("requests_per_minute", "images_per_day", "concurrency")}
PLATFORM_ENV = {"ATELIER_MODEL": "null", **{variable: str(UNLIMITED) for variable in TIER_OVERRIDES}}
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 1}
TERMINAL = {"succeeded", "failed", "canceled"}
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=5)
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=5, sock_read=60)
DB_TIMEOUT_S = 5
SIGNUP_CONCURRENCY = 4  # password hashing is slow on purpose: a few at a time


# -- the platform and the yardstick ----------------------------------------------------------

@dataclass(frozen=True)
class Platform:
    base_url: str
    env: dict[str, str]
    run_dir: Path

    @property
    def honcho_pid(self) -> int:
        return int((self.run_dir / "platform.pid").read_text())


@contextmanager
def running_platform() -> Iterator[Platform]:
    """Provision, migrate and start every process (as the end-to-end tests do); stop and tear
    down after."""
    provisioned = provision("bench")
    run_dir = ROOT / "var" / "bench" / provisioned["ATELIER_RUN_ID"]
    try:
        with started_platform(provisioned, run_dir, extra_env=PLATFORM_ENV) as running:
            yield Platform(running["base_url"], running["env"], run_dir)
    except PlatformDidNotStart as exc:
        raise SystemExit(str(exc)) from None
    finally:
        with cleanup_uninterrupted():
            teardown(provisioned)
            # Thousands of null images; the log stays for a look after the run.
            shutil.rmtree(run_dir / "storage", ignore_errors=True)
            print(f"platform stopped and {provisioned['ATELIER_RUN_ID']} torn down (log: {run_dir / 'platform.log'})")


# -- accounts --------------------------------------------------------------------------------

async def post_json(session: aiohttp.ClientSession, url: str, body: dict) -> tuple[int, Any]:
    """POST, waiting out 429 (the gateway's per-address limit on auth routes) and 5xx while starting."""
    while True:
        async with session.post(url, json=body) as response:
            if response.status not in (429, 502, 503, 504):
                return response.status, await response.json(content_type=None)
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def fresh_account(session: aiohttp.ClientSession, base_url: str, mail_dir: Path) -> dict[str, str]:
    """Signs up, verifies from the mail folder and logs in; returns the client's auth header."""
    address, password = f"bench-{uuid.uuid4().hex[:12]}@example.com", "bench " + uuid.uuid4().hex
    status, body = await post_json(session, f"{base_url}/api/auth/signup", {"email": address, "password": password})
    if status not in (200, 201):
        raise SystemExit(f"signup failed: {status} {body}")
    token = await asyncio.to_thread(verification_token, mail_dir, address)
    status, body = await post_json(session, f"{base_url}/api/auth/verify", {"token": token})
    if status != 200:
        raise SystemExit(f"verify failed: {status} {body}")
    status, body = await post_json(session, f"{base_url}/api/auth/token", {"email": address, "password": password})
    if status != 200:
        raise SystemExit(f"login failed: {status} {body}")
    return {"Authorization": f"Bearer {body['access']}"}


async def fresh_accounts(session: aiohttp.ClientSession, platform: Platform, count: int) -> list[dict[str, str]]:
    gate = asyncio.Semaphore(SIGNUP_CONCURRENCY)
    mail_dir = Path(platform.env["ATELIER_MAIL_DIR"])

    async def one() -> dict[str, str]:
        async with gate:
            return await fresh_account(session, platform.base_url, mail_dir)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def check_limits_lifted(session: aiohttp.ClientSession, platform: Platform, headers: dict[str, str]) -> None:
    """The tier overrides must be in force, or the rate limit would pace the run instead of the platform."""
    async with session.get(f"{platform.base_url}/api/v1/usage", headers=headers) as response:
        usage = await response.json(content_type=None)
    limits = usage.get("limits", {})
    short = {name: limits.get(name) for name in TIER_OVERRIDES.values() if limits.get(name) != UNLIMITED}
    if short:
        raise SystemExit(f"the tier overrides did not apply: /api/v1/usage says {short}")


# -- load ------------------------------------------------------------------------------------

JOB_BODY = json.dumps(JOB).encode()
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Tally:
    submit_ms: list[float] = field(default_factory=list)
    notified_ms: list[float] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    wall_s: float = 0.0


async def submit(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, float, dict]:
    """(status, ms until the answer was read, body)."""
    started = time.perf_counter()
    async with session.post(url, data=JOB_BODY, headers={**JSON_HEADERS, **headers}) as response:
        body = await response.read()
    elapsed_ms = (time.perf_counter() - started) * 1000
    parsed = json.loads(body) if body and response.content_type == "application/json" else {}
    return response.status, elapsed_ms, parsed if isinstance(parsed, dict) else {}


async def note_refusal(tally: Tally, status: int, body: dict) -> None:
    error = body.get("error")
    code = error.get("code", "?") if isinstance(error, dict) else "?"
    tally.refused[f"{status} {code}"] += 1
    await asyncio.sleep(0.1)  # a refused closed loop would otherwise spin


async def admission_client(session: aiohttp.ClientSession, url: str, headers: dict[str, str], deadline: float,
                           tally: Tally) -> None:
    while time.monotonic() < deadline:
        status, elapsed_ms, body = await submit(session, url, headers)
        if status == 202:
            tally.submit_ms.append(elapsed_ms)
        else:
            await note_refusal(tally, status, body)


async def follow(session: aiohttp.ClientSession, base_url: str, job_id: str, headers: dict[str, str]) -> tuple[dict, float]:
    """The job in its terminal state and the wall-clock time its event was read."""
    async with session.get(f"{base_url}/api/v1/jobs/{job_id}/events", headers=headers, timeout=STREAM_TIMEOUT) as response:
        response.raise_for_status()
        data_lines: list[str] = []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data:"):
                data_lines.append(line[5:].strip())
            elif line == "" and data_lines:
                job = json.loads("\n".join(data_lines))
                data_lines = []
                if job.get("status") in TERMINAL:
                    return job, time.time()
    raise RuntimeError(f"the event stream of {job_id} ended before the job did")


async def round_trip_client(session: aiohttp.ClientSession, base_url: str, headers: dict[str, str], deadline: float,
                            tally: Tally) -> None:
    while time.monotonic() < deadline:
        status, elapsed_ms, body = await submit(session, f"{base_url}/api/v1/jobs", headers)
        if status != 202:
            await note_refusal(tally, status, body)
            continue
        tally.submit_ms.append(elapsed_ms)
        job, read_at = await follow(session, base_url, body["id"], headers)
        tally.statuses[job["status"]] += 1
        done = finished_at(job)
        if done is not None:
            tally.notified_ms.append((read_at - done) * 1000)


LoadClient = Callable[..., Awaitable[None]]  # (*args, headers, deadline, tally)


async def closed_loop(client: LoadClient, clients: list[dict[str, str]], seconds: float, *args: Any) -> Tally:
    """Runs `client` once per header set until the deadline; the wall time includes the last answers."""
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(client(*args, headers, started + seconds, tally) for headers in clients))
    tally.wall_s = time.monotonic() - started
    return tally


# -- phases ----------------------------------------------------------------------------------

async def unfinished_jobs(platform: Platform) -> int:
    async with await psycopg.AsyncConnection.connect(platform.env["PRE_INFERENCE_DATABASE_URL"],
                                                     connect_timeout=DB_TIMEOUT_S,
                                                     options=f"-c statement_timeout={DB_TIMEOUT_S * 1000}") as conn:
        cursor = await conn.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
        return (await cursor.fetchone())[0]


def is_stopped(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False  # exited meanwhile (a respawn restarts it)


def fail_if_stopped(platform: Platform) -> None:
    """On a shared machine something else may SIGSTOP processes by name (it happened to the
    worker here); then jobs wait forever, so say so instead of timing out."""
    stopped = sorted({role for role, processes in platform_processes(platform.honcho_pid).items()
                      for process in processes if is_stopped(process)})
    if stopped:
        raise SystemExit(f"platform processes were stopped (SIGSTOP) from outside this bench: {', '.join(stopped)}")


async def drain(platform: Platform, timeout_s: float) -> dict[str, float]:
    """Waits until the null worker has finished every job; how many were left and how fast they went."""
    started = time.monotonic()
    backlog = left = await unfinished_jobs(platform)
    while left:
        fail_if_stopped(platform)
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"{left} jobs still unfinished after {timeout_s:.0f} s; see {platform.run_dir / 'platform.log'}")
        await asyncio.sleep(0.5)
        left = await unfinished_jobs(platform)
    took = time.monotonic() - started
    return {"backlog": backlog, "seconds": round(took, 1), "jobs_per_s": round(backlog / took, 1) if backlog else None}


async def warm_up(session: aiohttp.ClientSession, platform: Platform, clients: list[dict[str, str]]) -> None:
    """One job per client, retried until pre_inference has heard of the verification (auth's event)."""
    async def one(headers: dict[str, str]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, _, body = await submit(session, f"{platform.base_url}/api/v1/jobs", headers)
            if status == 202:
                return
            await asyncio.sleep(0.2)
        raise SystemExit(f"a warm-up job was refused for 30 s: {status} {body}")

    await asyncio.gather(*(one(headers) for headers in clients))


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    ordered = sorted(values)

    def at(q: float) -> float:  # nearest rank, as the other benches
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(ordered), "p50": at(.50), "p95": at(.95), "p99": at(.99), "mean": round(sum(ordered) / len(ordered), 2)}


@contextmanager
def worker_paused(platform: Platform) -> Iterator[None]:
    """The inference worker stopped (SIGSTOP) for the block: the jobs admitted meanwhile wait in
    the queue, so the admission phase measures admission (the API, its transaction, the relay's
    publish) and not the worker and the consumer's handling of its events on the same cores.
    Resumed however the block ends; drain() then lets it finish them."""
    workers = [process for process in platform_processes(platform.honcho_pid).get("inference worker", [])
               if "respawn" not in " ".join(process.cmdline())]
    for process in workers:
        process.suspend()
    try:
        yield
    finally:
        for process in workers:
            try:
                process.resume()
            except psutil.Error:
                pass  # gone; respawn starts another


async def admission_phase(session: aiohttp.ClientSession, platform: Platform, clients: list[dict[str, str]], seconds: float) -> dict:
    window = CpuWindow(lambda: with_bench_client({**platform_processes(platform.honcho_pid), **server_processes()}))
    with worker_paused(platform):
        window.start()
        tally = await closed_loop(admission_client, clients, seconds, session, f"{platform.base_url}/api/v1/jobs")
        window.stop()
    return {"submit_ms": percentiles(tally.submit_ms), "accepted_per_s": round(len(tally.submit_ms) / tally.wall_s, 1),
            "refused": dict(tally.refused), "cpu_busy": round(window.busy, 3),
            "cpu_ms_per_job": cpu_ms_per_job(window, len(tally.submit_ms))}


async def round_trip_phase(session: aiohttp.ClientSession, platform: Platform, clients: list[dict[str, str]], seconds: float) -> dict:
    window = CpuWindow(dict)  # the machine's busy share only
    window.start()
    tally = await closed_loop(round_trip_client, clients, seconds, session, platform.base_url)
    window.stop()
    return {"submit_ms": percentiles(tally.submit_ms), "notified_ms": percentiles(tally.notified_ms),
            "jobs_per_s": round(len(tally.notified_ms) / tally.wall_s, 1), "statuses": dict(tally.statuses),
            "refused": dict(tally.refused), "cpu_busy": round(window.busy, 3)}


async def yardstick_phase(session: aiohttp.ClientSession, yardstick: Yardstick, clients: int, seconds: float) -> dict:
    window = CpuWindow(lambda: with_bench_client({"yardstick": [yardstick.process],
                                                  "redis (server)": server_processes().get("redis (server)", [])}))
    window.start()
    tally = await closed_loop(admission_client, [{}] * clients, seconds, session, f"{yardstick.base_url}/jobs")
    window.stop()
    return {"submit_ms": percentiles(tally.submit_ms), "accepted_per_s": round(len(tally.submit_ms) / tally.wall_s, 1),
            "refused": dict(tally.refused), "cpu_busy": round(window.busy, 3),
            "cpu_ms_per_job": cpu_ms_per_job(window, len(tally.submit_ms))}


async def measure(args: argparse.Namespace, platform: Platform, yardstick: Yardstick | None) -> list[dict]:
    most = max(args.clients)
    connector = aiohttp.TCPConnector(limit=most * 2 + 10)  # a POST and an event stream per client
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT, connector=connector, trust_env=False) as session:
        print(f"==> signing up {most} accounts")
        accounts = await fresh_accounts(session, platform, most)
        await check_limits_lifted(session, platform, accounts[0])
        await warm_up(session, platform, accounts)
        await drain(platform, args.drain_timeout)
        runs = []
        for count in args.clients:
            clients = accounts[:count]
            print(f"==> {count} client(s): admission, {args.seconds:g} s")
            run: dict[str, Any] = {"clients": count, "admission": await admission_phase(session, platform, clients, args.seconds)}
            run["drain"] = await drain(platform, args.drain_timeout)
            print(f"==> {count} client(s): round trip, {args.seconds:g} s")
            run["round_trip"] = await round_trip_phase(session, platform, clients, args.seconds)
            await drain(platform, args.drain_timeout)
            if yardstick is not None:
                print(f"==> {count} client(s): yardstick, {args.seconds:g} s")
                run["yardstick"] = await yardstick_phase(session, yardstick, count, args.seconds)
            runs.append(run)
        return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,50", type=lambda text: [int(c) for c in text.split(",")],
                        help="client counts, comma-separated (default 1,50)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase (default 10)")
    parser.add_argument("--yardstick", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the load against bench/yardstick.py (default on)")
    parser.add_argument("--drain-timeout", type=float, default=300,
                        help="seconds the null worker may take to finish the jobs left after a phase")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the platform is stopped and torn down either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    figures = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": args.seconds, "job": JOB,
               "machine": {"cpus": os.cpu_count(), "load_average_start": [round(v, 2) for v in os.getloadavg()]}}
    try:
        with running_platform() as platform:
            redis_url = platform.env["ATELIER_REDIS_URL"]
            with (running_yardstick(redis_url) if args.yardstick else nullcontext()) as yardstick:
                figures["runs"] = asyncio.run(measure(args, platform, yardstick))
    except KeyboardInterrupt:
        raise SystemExit("interrupted")
    figures["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print_report(figures, JOB)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
