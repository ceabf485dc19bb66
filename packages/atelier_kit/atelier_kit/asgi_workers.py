"""Run an ASGI service under uvicorn with as many worker processes as the machine warrants.

    python -m atelier_kit.asgi_workers --service gateway --workers-env GATEWAY_WORKERS -- \\
        app.main:app --host 127.0.0.1 --port 8000 --no-access-log

The number of workers is ``$<workers-env>`` when set, else ``default_workers()``: one on a
machine of two cores or fewer, where every process of the platform (and the model on the CPU)
shares them and a second API process measured no faster (bench/README.md), else half the cores,
at most four. With more than one, Prometheus's multiprocess mode is prepared before uvicorn
starts (``atelier_kit.metrics_multiprocess``), so /metrics adds up every worker whichever one
answers the scrape. The process then becomes uvicorn itself (exec): signals, exit codes and the
supervisor's graceful shutdown are uvicorn's.

What a worker keeps in memory is per worker: the gateway's in-flight cap per user and
pre_inference's stream cap per user count per process. Limits, quotas, idempotency and the
event-stream caps at the gateway live in Postgres and Redis and hold across workers.
"""
from __future__ import annotations

import argparse
import os
import sys

from .metrics_multiprocess import prepare_multiprocess_dir

MAX_DEFAULT_WORKERS = 4


def default_workers(cpus: int | None = None) -> int:
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return 1 if cpus <= 2 else min(MAX_DEFAULT_WORKERS, cpus // 2)


def workers_from_env(variable: str, environ: dict[str, str] | os._Environ = os.environ) -> int:
    raw = environ.get(variable, "").strip()
    if not raw:
        return default_workers()
    try:
        workers = int(raw)
    except ValueError:
        raise SystemExit(f"{variable} must be a whole number of worker processes, not {raw!r}") from None
    if not 1 <= workers <= 64:
        raise SystemExit(f"{variable} must be between 1 and 64, not {workers}")
    return workers


def uvicorn_command(uvicorn_args: list[str], workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", *uvicorn_args, "--workers", str(workers)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="uvicorn with a worker count picked for this machine")
    parser.add_argument("--service", required=True, help="names the Prometheus multiprocess folder")
    parser.add_argument("--workers-env", required=True, help="the variable that may set the worker count")
    parser.add_argument("uvicorn_args", nargs=argparse.REMAINDER, help="after --: uvicorn's own arguments")
    args = parser.parse_args(argv)
    uvicorn_args = args.uvicorn_args[1:] if args.uvicorn_args[:1] == ["--"] else args.uvicorn_args
    if not uvicorn_args:
        parser.error("give uvicorn's arguments after --")
    workers = workers_from_env(args.workers_env)
    # Several workers need the shared folder; so does one whose deployment names the folder
    # (prometheus_client then works in multiprocess mode and expects it to exist).
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prepare_multiprocess_dir(args.service)
    command = uvicorn_command(uvicorn_args, workers)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
