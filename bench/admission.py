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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import aiohttp
import psutil
import psycopg
import redis

from atelier_devkit.platform import platform_env, write_env_file
from platform_overhead import finished_at, verification_token  # bench/, beside this script
from atelier_devkit.testing import provision, teardown

ROOT = Path(__file__).resolve().parents[1]
# The ports a platform run needs (as tests/conftest.py's PORT_NAMES).
PORT_NAMES = (
    "GATEWAY_PORT", "AUTH_PORT", "PAYMENTS_PORT", "PRE_INFERENCE_PORT",
    "AUTH_RELAY_METRICS_PORT", "AUTH_CONSUMER_METRICS_PORT",
    "PAYMENTS_RELAY_METRICS_PORT", "PAYMENTS_CONSUMER_METRICS_PORT", "PAYMENTS_WORKER_METRICS_PORT",
    "PRE_INFERENCE_RELAY_METRICS_PORT", "PRE_INFERENCE_CONSUMER_METRICS_PORT",
    "INFERENCE_METRICS_PORT",
)
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
SERVERS = {"postgres": "postgres (server)", "beam.smp": "rabbitmq (server)", "erl_child_setup": "rabbitmq (server)",
           "redis-server": "redis (server)"}
CPU_ORDER = ("gateway api", "pre_inference api", "pre_inference relay", "pre_inference consumer", "inference worker",
             "auth (api, relay, consumer, celery)", "payments (api, relay, consumer, celery)", "honcho + respawn",
             "yardstick", "postgres (server)", "rabbitmq (server)", "redis (server)", "bench client")


# -- the platform and the yardstick ----------------------------------------------------------

@dataclass(frozen=True)
class Platform:
    base_url: str
    env: dict[str, str]
    run_dir: Path

    @property
    def honcho_pid(self) -> int:
        return int((self.run_dir / "platform.pid").read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def cleanup_uninterrupted() -> Iterator[None]:
    """A second Ctrl-C must not cut the teardown short and leave a database or vhost behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def running_platform() -> Iterator[Platform]:
    """Provision, migrate and start every process (as tests/conftest.py); stop and tear down after."""
    provisioned = provision("bench")
    run_dir = ROOT / "var" / "bench" / provisioned["ATELIER_RUN_ID"]
    env_file = run_dir / "platform.env"
    try:
        keys = ("ATELIER_PG_ADMIN_DSN", "ATELIER_AMQP_URL", "ATELIER_REDIS_URL", "ATELIER_REDIS_PREFIX")
        connections = {k: v for k, v in provisioned.items() if k in keys or k.endswith("_DATABASE_URL")}
        ports = {name: free_port() for name in PORT_NAMES}
        env = {**platform_env(var_dir=run_dir, connections=connections, ports=ports), **PLATFORM_ENV}
        write_env_file(env_file, env)
        subprocess.run([ROOT / "infra/local/migrate.sh", env_file], check=True, timeout=300)
        started = subprocess.run([ROOT / "infra/local/platform.sh", "start", env_file], timeout=400)
        if started.returncode != 0:
            raise SystemExit(f"the platform did not start; see {run_dir / 'platform.log'}")
        yield Platform(f"http://127.0.0.1:{ports['GATEWAY_PORT']}", env, run_dir)
    finally:
        with cleanup_uninterrupted():
            try:
                if env_file.exists():
                    subprocess.run([ROOT / "infra/local/platform.sh", "stop", env_file], timeout=60)
            finally:
                teardown(provisioned)
                # Thousands of null images; the log stays for a look after the run.
                shutil.rmtree(run_dir / "storage", ignore_errors=True)
            print(f"platform stopped and {provisioned['ATELIER_RUN_ID']} torn down (log: {run_dir / 'platform.log'})")


@dataclass(frozen=True)
class Yardstick:
    base_url: str
    process: psutil.Process


def delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=DB_TIMEOUT_S, socket_connect_timeout=DB_TIMEOUT_S)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wait_until_listening(port: int, process: subprocess.Popen, wait_s: float = 30) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the yardstick exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the yardstick did not listen within {wait_s:.0f} s")


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running_yardstick(redis_url: str) -> Iterator[Yardstick]:
    """bench/yardstick.py on a port and Redis prefix of its own; stopped and its keys deleted after."""
    prefix = f"bench_yardstick_{secrets.token_hex(4)}:"
    port = free_port()
    # A session of its own: Ctrl-C reaches this script, which stops it in order.
    process = subprocess.Popen([sys.executable, ROOT / "bench" / "yardstick.py", "--port", str(port),
                                "--redis-url", redis_url, "--prefix", prefix], start_new_session=True)
    try:
        wait_until_listening(port, process)
        yield Yardstick(f"http://127.0.0.1:{port}", psutil.Process(process.pid))
    finally:
        with cleanup_uninterrupted():
            try:
                stop_process(process)
            finally:
                delete_keys(redis_url, prefix)


# -- CPU accounting --------------------------------------------------------------------------

def platform_role(process: psutil.Process) -> str:
    """Which part of the platform a process of honcho's tree is, from its command line and folder."""
    command = " ".join(process.cmdline())
    if "honcho" in command or "infra/local/respawn" in command:
        return "honcho + respawn"
    arguments = process.cmdline()
    # The relays run from the repository root and say whose outbox they publish.
    service = arguments[arguments.index("--name") + 1] if "--name" in arguments else Path(process.cwd()).name
    if service == "pre_inference":
        if "relay" in command:
            return "pre_inference relay"
        return "pre_inference consumer" if "app.consumers" in command else "pre_inference api"
    return {"gateway": "gateway api", "inference": "inference worker", "auth": "auth (api, relay, consumer, celery)",
            "payments": "payments (api, relay, consumer, celery)"}.get(service, f"other ({process.name()})")


def platform_processes(platform: Platform) -> dict[str, list[psutil.Process]]:
    honcho = psutil.Process(platform.honcho_pid)
    groups: dict[str, list[psutil.Process]] = defaultdict(list)
    for process in [honcho, *honcho.children(recursive=True)]:
        try:
            groups[platform_role(process)].append(process)
        except psutil.Error:
            continue  # exited while we looked
    return groups


def server_processes() -> dict[str, list[psutil.Process]]:
    """Postgres, RabbitMQ and Redis by process name: shared with anything else on this machine."""
    groups: dict[str, list[psutil.Process]] = defaultdict(list)
    for process in psutil.process_iter(["name"]):
        role = SERVERS.get(process.info["name"] or "")
        if role:
            groups[role].append(process)
    return groups


CpuReading = dict[str, dict[tuple[int, float], float]]


def read_cpu(groups: dict[str, list[psutil.Process]]) -> CpuReading:
    """user+system CPU seconds of each process and of its children that ended (a parent is
    credited with what it reaped: Postgres backends that came and went are counted through
    the postmaster), keyed by (pid, start time) so a reused pid never matches."""
    reading: CpuReading = defaultdict(dict)
    for role, processes in groups.items():
        for process in processes:
            try:
                times = process.cpu_times()
                reading[role][(process.pid, process.create_time())] = (
                    times.user + times.system + times.children_user + times.children_system)
            except psutil.Error:
                continue
    return reading


def cpu_used(before: CpuReading, after: CpuReading) -> dict[str, float]:
    """CPU seconds per role between two readings; a process started in between counts from zero,
    one that ended in between through its parent (read_cpu)."""
    return {role: sum(seconds - before.get(role, {}).get(key, 0.0) for key, seconds in processes.items())
            for role, processes in after.items()}


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class CpuWindow:
    """CPU of the given processes and of the whole machine over one phase."""
    discover: Callable[[], dict[str, list[psutil.Process]]]
    before: CpuReading = field(default_factory=dict)
    ticks: tuple[int, int] = (0, 0)
    used_s: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0

    def start(self) -> None:
        self.before = read_cpu(self.discover())
        self.ticks = machine_ticks()

    def stop(self) -> None:
        ticks = machine_ticks()
        self.used_s = cpu_used(self.before, read_cpu(self.discover()))
        self.busy = (ticks[0] - self.ticks[0]) / max(1, ticks[1] - self.ticks[1])


def with_bench_client(groups: dict[str, list[psutil.Process]]) -> dict[str, list[psutil.Process]]:
    return {**groups, "bench client": [psutil.Process()]}


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
    stopped = sorted({role for role, processes in platform_processes(platform).items()
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


def cpu_ms_per_job(window: CpuWindow, jobs: int) -> dict[str, float]:
    return {role: round(seconds * 1000 / jobs, 3) for role, seconds in window.used_s.items()} if jobs else {}


@contextmanager
def worker_paused(platform: Platform) -> Iterator[None]:
    """The inference worker stopped (SIGSTOP) for the block: the jobs admitted meanwhile wait in
    the queue, so the admission phase measures admission (the API, its transaction, the relay's
    publish) and not the worker and the consumer's handling of its events on the same cores.
    Resumed however the block ends; drain() then lets it finish them."""
    workers = [process for process in platform_processes(platform).get("inference worker", [])
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
    window = CpuWindow(lambda: with_bench_client({**platform_processes(platform), **server_processes()}))
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


# -- report ----------------------------------------------------------------------------------

def ms(summary: dict, key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:.1f}"


def latency(summary: dict) -> str:
    return f"{ms(summary, 'p50')} / {ms(summary, 'p95')} / {ms(summary, 'p99')} / {ms(summary, 'mean')}"


def report_rows(runs: list[dict]) -> list[tuple[str, list[str], str]]:
    """(label, one cell per client count, target) for the figures table."""
    def cells(pick: Callable[[dict], str]) -> list[str]:
        return [pick(run) for run in runs]

    rows = [
        ("platform submit -> 202, ms (p50/p95/p99/mean)", cells(lambda r: latency(r["admission"]["submit_ms"])),
         "p50 <= 10, p99 <= 50 (1 client: <= 5)"),
        ("platform accepted/s", cells(lambda r: f"{r['admission']['accepted_per_s']:.0f}"), ">= 500 at 50"),
        ("  refused", cells(lambda r: str(r["admission"]["refused"] or "none")), ""),
        ("  machine CPU busy", cells(lambda r: f"{r['admission']['cpu_busy']:.0%}"), ""),
        ("  left unfinished, drained in", cells(lambda r: f"{r['drain']['backlog']} jobs in {r['drain']['seconds']} s"), ""),
        ("round trip submit -> 202, ms", cells(lambda r: latency(r["round_trip"]["submit_ms"])), ""),
        ("finished -> notified, ms", cells(lambda r: latency(r["round_trip"]["notified_ms"])), "p50 <= 10"),
        ("round trip jobs/s", cells(lambda r: f"{r['round_trip']['jobs_per_s']:.0f}"), ""),
        ("  machine CPU busy", cells(lambda r: f"{r['round_trip']['cpu_busy']:.0%}"), ""),
    ]
    if all("yardstick" in run for run in runs):
        rows += [
            ("yardstick submit -> 202, ms", cells(lambda r: latency(r["yardstick"]["submit_ms"])), ""),
            ("yardstick accepted/s", cells(lambda r: f"{r['yardstick']['accepted_per_s']:.0f}"), ""),
            ("  machine CPU busy", cells(lambda r: f"{r['yardstick']['cpu_busy']:.0%}"), ""),
        ]
    return rows


def cpu_rows(runs: list[dict], phase: str) -> list[tuple[str, list[str], str]]:
    roles = sorted({role for run in runs for role in run.get(phase, {}).get("cpu_ms_per_job", {})},
                   key=lambda role: (CPU_ORDER.index(role) if role in CPU_ORDER else len(CPU_ORDER), role))
    rows = [(f"  {role}", [f"{run[phase]['cpu_ms_per_job'].get(role, 0):.2f}" for run in runs], "") for role in roles]
    totals = [f"{sum(run[phase]['cpu_ms_per_job'].values()):.2f}" for run in runs]
    return rows + [("  all of the above", totals, "")]


def print_table(header: str, runs: list[dict], rows: list[tuple[str, list[str], str]]) -> None:
    columns = [f"{run['clients']} client{'s' if run['clients'] > 1 else ''}" for run in runs]
    width = max(len(label) for label, _, _ in rows + [(header, [], "")])
    cell = max(14, *(len(c) for _, cells, _ in rows for c in cells), *(len(c) for c in columns))
    print(f"\n{header:<{width}}  " + "  ".join(f"{c:>{cell}}" for c in columns) + "  target")
    for label, cells, target in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{c:>{cell}}" for c in cells) + f"  {target}")


def print_report(figures: dict) -> None:
    machine = figures["machine"]
    print(f"\n{figures['date']}: {machine['cpus']} CPUs, load average {machine['load_average_start']} at the start and "
          f"{machine['load_average_end']} at the end, {figures['seconds']:g} s per phase; job {JOB['width']}x{JOB['height']}, {JOB['steps']} step, null model")
    runs = figures["runs"]
    print_table("figures", runs, report_rows(runs))
    print_table("CPU ms per accepted job, admission phase", runs, cpu_rows(runs, "admission"))
    if all("yardstick" in run for run in runs):
        print_table("CPU ms per accepted job, yardstick", runs, cpu_rows(runs, "yardstick"))
    print("\nServers are counted by process name: Postgres, RabbitMQ and Redis also serve anything else running "
          "on this machine;\nmachine CPU busy is every core's, other work and the kernel's network time included.")


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
    print_report(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
