"""`python -m atelier_inference`: load the model once, then serve jobs until SIGTERM."""
from __future__ import annotations

import logging
import sys
import time

from atelier_kit import tracing
from atelier_kit.metrics import serve_metrics_from_env
from atelier_messaging.logs import configure_logging
from atelier_storage import FilesystemStorage, storage_from_env

from . import metrics
from .config import load_settings
from .pipeline import ModelLoadError, limit_cpu_threads, load_pipeline
from .model_pool import pool_for
from .worker import Worker

log = logging.getLogger("atelier.inference")


def main() -> int:
    configure_logging("inference", "worker")
    tracing.setup_tracing("inference", "worker")
    try:
        settings = load_settings()
    except (RuntimeError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    serve_metrics_from_env()  # before the (long) preload, so a cold start is visible as it happens
    threads = limit_cpu_threads(settings.device, settings.cpu_threads)
    if threads is not None:
        log.info("the model runs on the CPU with %d threads (ATELIER_CPU_THREADS)", threads)
    loaded = None
    if settings.preload_model:
        started = time.perf_counter()
        try:
            loaded = load_pipeline(
                settings.model_location,
                settings.device,
                compile_unet=settings.torch_compile,
                compile_cache_dir=settings.compile_cache_path,
            )
        except ModelLoadError as exc:
            log.error("cannot load the model: %s", exc)
            return 2
        load_s = time.perf_counter() - started
        metrics.model_loaded(True, load_s)
        log.info("cold start: model ready in %.0f ms (%s on %s%s)", load_s * 1000,
                 loaded.model, loaded.device, ", tiny random weights" if loaded.tiny else "")
    else:
        log.info("the model (%s) loads with the first job", settings.model_location)
    try:
        storage = (FilesystemStorage(settings.storage_path) if settings.storage_backend == "filesystem"
                   else storage_from_env())
    except ValueError as exc:
        log.error("storage: %s", exc)
        return 2
    try:
        models = pool_for(settings, loaded)
    except ModelLoadError as exc:
        log.error("cannot serve the models: %s", exc)
        return 2
    if len(models.models) > 1:
        log.info("serving %s (loaded on demand)", ", ".join(models.models))
    worker = Worker(settings, models, storage)
    worker.install_signal_handlers()
    try:
        worker.run()
    finally:
        tracing.shutdown_tracing()  # flush the last spans
    return 0


if __name__ == "__main__":
    sys.exit(main())
