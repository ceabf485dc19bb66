"""The tables bench/admission.py prints: the figures at each client count beside the issue's
targets, and CPU per accepted job by process."""
from __future__ import annotations

from collections.abc import Callable

CPU_ORDER = ("gateway api", "pre_inference api", "pre_inference relay", "pre_inference consumer", "inference worker",
             "auth (api, relay, consumer, celery)", "payments (api, relay, consumer, celery)", "honcho + respawn",
             "yardstick", "postgres (server)", "rabbitmq (server)", "redis (server)", "bench client")


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


def print_report(figures: dict, job: dict) -> None:
    machine = figures["machine"]
    print(f"\n{figures['date']}: {machine['cpus']} CPUs, load average {machine['load_average_start']} at the start and "
          f"{machine['load_average_end']} at the end, {figures['seconds']:g} s per phase; job {job['width']}x{job['height']}, {job['steps']} step, null model")
    runs = figures["runs"]
    print_table("figures", runs, report_rows(runs))
    print_table("CPU ms per accepted job, admission phase", runs, cpu_rows(runs, "admission"))
    if all("yardstick" in run for run in runs):
        print_table("CPU ms per accepted job, yardstick", runs, cpu_rows(runs, "yardstick"))
    print("\nServers are counted by process name: Postgres, RabbitMQ and Redis also serve anything else running "
          "on this machine;\nmachine CPU busy is every core's, other work and the kernel's network time included.")
