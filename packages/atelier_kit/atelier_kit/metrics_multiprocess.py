"""prometheus_client's multiprocess mode for the gunicorn-served services (2 workers).

Imports nothing from prometheus_client at module level on purpose: the client picks its
value storage (memory or mmap files) when it is first imported, so the gunicorn config must
set PROMETHEUS_MULTIPROC_DIR *before* anything imports it, and the workers it forks inherit
the choice.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def multiprocess_dir(service: str, env: os._Environ | dict[str, str] = os.environ) -> Path:
    """PROMETHEUS_MULTIPROC_DIR when set; otherwise ``<run var dir>/prometheus/<service>``,
    the run's var dir being where its storage folder lives (devkit's platform_env puts
    storage and mail there), or the repository's var/ as a last resort."""
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        return Path(env["PROMETHEUS_MULTIPROC_DIR"])
    for anchor in ("ATELIER_STORAGE_DIR", "ATELIER_MAIL_DIR"):
        if env.get(anchor):
            return Path(env[anchor]).resolve().parent / "prometheus" / service
    root = Path(env.get("ATELIER_ROOT") or Path.cwd())
    return root / "var" / "prometheus" / service


def prepare_multiprocess_dir(service: str, env: os._Environ | dict[str, str] = os.environ) -> Path:
    """Wipes and recreates the folder and exports it. Files left by a previous run would be
    added to this run's counts (and their dead gauges shown as live)."""
    directory = multiprocess_dir(service, env)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """gunicorn's child_exit hook: drop the dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
