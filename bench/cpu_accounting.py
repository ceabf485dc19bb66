"""CPU per process over a phase of bench/admission.py: the platform's processes by role (found
in honcho's tree by folder and command line), the servers by process name, and the machine's
busy share. A process is credited with the CPU of its children that ended, so Postgres
backends that come and go within a phase are counted through the postmaster."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SERVERS = {"postgres": "postgres (server)", "beam.smp": "rabbitmq (server)", "erl_child_setup": "rabbitmq (server)",
           "redis-server": "redis (server)"}


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


def platform_processes(honcho_pid: int) -> dict[str, list[psutil.Process]]:
    """The processes of honcho's tree (the platform `make up` runs), by role."""
    honcho = psutil.Process(honcho_pid)
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


def cpu_ms_per_job(window: CpuWindow, jobs: int) -> dict[str, float]:
    return {role: round(seconds * 1000 / jobs, 3) for role, seconds in window.used_s.items()} if jobs else {}
