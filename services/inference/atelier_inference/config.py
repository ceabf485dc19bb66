"""Settings, all from the environment (see .env.example).

Relative paths (model, storage, compile cache) are resolved against the repository
root, not the working directory: the Procfile runs the worker from services/inference
while setup builds the model from wherever it is, and both must mean the same folder.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from atelier_kit.assignments import parse_assignments
from atelier_messaging.topology import DEFAULT_POOL, valid_pool
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/atelier"
# ATELIER_MODEL=null: the null model (pipeline.NullPipeline). The worker runs every job through
# its normal path but the pipeline call returns plain images at once, so a benchmark measures
# the platform and not the model. Development and tests only: production refuses it.
NULL_MODEL = "null"
# The name jobs use for ATELIER_MODEL (and for whatever a worker serves when they name none).
DEFAULT_MODEL_NAME = "default"


def is_null_model(model: str) -> bool:
    return model.strip() == NULL_MODEL


def repo_root() -> Path:
    override = os.environ.get("ATELIER_ROOT")
    if override:
        return Path(override).resolve()
    # atelier_inference/config.py -> services/inference -> services -> repository root
    return Path(__file__).resolve().parents[3]


def resolve_path(value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (repo_root() / path).resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", protected_namespaces=())

    env: str = "development"
    amqp_url: str = DEV_AMQP_URL
    storage_dir: str = "var/storage"
    model: str = "var/models/tiny-sd"
    # The catalogue name ATELIER_MODEL is served under. "default" is the model of jobs that
    # name none, so only one pool should serve a "default"; a pool of bigger GPUs names its
    # model (ATELIER_MODEL_NAME=flux.1-schnell) and its jobs name it.
    model_name: str = DEFAULT_MODEL_NAME
    # More models on one worker: "name=path,name=path" (paths as ATELIER_MODEL). ATELIER_MODEL
    # stays served as ATELIER_MODEL_NAME unless this list names that name itself.
    models: str = ""
    # What the loaded models' weights may take together, in MiB (0: no limit). Loading one more
    # unloads the least recently used first until it fits (a model alone may exceed it).
    model_memory_budget_mb: int = Field(default=0, ge=0)
    # A folder of LoRA adapters (<name>.safetensors, each with an optional <name>.json sidecar
    # naming its family); empty: none. Read again at every heartbeat (atelier_inference.loras).
    lora_dir: str = ""
    # The worker pool this worker belongs to: it consumes the pool's queue (inference.jobs, or
    # inference.jobs.<pool>) and announces the pool on its heartbeat, so pre_inference routes
    # jobs for its models there. One pool per kind of machine (big GPUs for FLUX, small for SD 1.5).
    pool: str = DEFAULT_POOL
    # Seconds between inference.worker.heartbeat events (the model catalogue's source).
    heartbeat_every_s: float = Field(default=10.0, gt=0, le=3600)
    device: str | None = None  # "cuda", "cpu", "cuda:1"; default: CUDA when available
    torch_compile: bool = False
    # Threads torch may use on the CPU. Default: every core but one, so that on a machine the
    # model shares with the platform (make up) the API, broker and database keep a core and
    # their latency does not wait behind the model. Irrelevant on CUDA.
    cpu_threads: int | None = Field(default=None, ge=1, le=1024)
    torch_compile_cache_dir: str = "var/cache/torch-compile"
    max_job_attempts: int = Field(default=3, ge=1, le=100)
    # Images (sum of n) one pipeline call may make; also the prefetch, so the worker sees a backlog.
    max_batch: int = Field(default=8, ge=1, le=64)
    # A backlog arrives as one burst (prefetch), so a few ms catch it; the window is paid by
    # every job that finds the worker idle, so keep it small next to the fastest model's step.
    batch_window_ms: float = Field(default=5.0, ge=0, le=1000)
    # A job still generating after this long is failed (time_limit_exceeded). RabbitMQ's
    # consumer_timeout must stay above max_batch x this (infra/rabbitmq/rabbitmq.conf).
    job_time_limit_s: float = Field(default=300.0, gt=0, le=86400)
    # Unload the model (and free GPU memory) after this long without a job; 0 = never.
    idle_unload_s: float = Field(default=300.0, ge=0)
    # Load the model at start (fail fast on a bad model). 0: load on the first job instead, so a
    # worker scaled up from zero takes the job at once and the user sees "warming up", not "queued".
    preload_model: bool = True
    # Progress events carry a small preview of the first image (inference.job.progress v2),
    # from the latents through a linear map, no VAE; 0 turns them off.
    previews: bool = True
    storage_backend: str = "filesystem"
    # Touched every few seconds by the worker loop; read by `python -m atelier_inference.probe`.
    heartbeat_file: str | None = None
    # Test-only fault injection, honoured only with ATELIER_ENV=test: a job whose prompt is
    # exactly this string kills the worker process (exit 137) as if the GPU had crashed it.
    test_crash_prompt: str | None = None
    worker_name: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @field_validator("env")
    @classmethod
    def _known_env(cls, value: str) -> str:
        if value not in {"development", "test", "production"}:
            raise ValueError("ATELIER_ENV must be development, test or production")
        return value

    @field_validator("pool")
    @classmethod
    def _pool_name(cls, value: str) -> str:
        if not valid_pool(value):
            raise ValueError("ATELIER_POOL must be lowercase letters, digits and '-' (at most 32), not dead or retry")
        return value

    @field_validator("storage_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in {"filesystem", "s3"}:
            raise ValueError("ATELIER_STORAGE_BACKEND must be filesystem or s3")
        return value

    @property
    def crash_prompt(self) -> str | None:
        return self.test_crash_prompt if self.env == "test" and self.test_crash_prompt else None

    @field_validator("worker_name", "device")
    @classmethod
    def _blank_is_default(cls, value: str | None, info: Any) -> str | None:
        if value is not None and not value.strip():
            return None if info.field_name == "device" else f"{socket.gethostname()}:{os.getpid()}"
        return value

    @property
    def storage_path(self) -> Path:
        return resolve_path(self.storage_dir)

    @property
    def lora_path(self) -> Path | None:
        return resolve_path(self.lora_dir) if self.lora_dir else None

    @property
    def compile_cache_path(self) -> Path:
        return resolve_path(self.torch_compile_cache_dir)

    @property
    def model_location(self) -> str:
        """A local path when one exists under that name (relative to the repository), else the value as given
        (a hub id, or the null model, which never names a folder)."""
        return location_of(self.model)

    @field_validator("models")
    @classmethod
    def _models_list(cls, value: str) -> str:
        parse_models(value)
        return value

    @field_validator("model_name")
    @classmethod
    def _model_name(cls, value: str) -> str:
        parse_models(f"{value}=x")  # the rule of ATELIER_MODELS' names
        return value

    @property
    def served_models(self) -> dict[str, str]:
        """name -> location of every model this worker serves, ATELIER_MODEL's first."""
        named = parse_models(self.models)
        served = {self.model_name: location_of(named.pop(self.model_name, self.model))}
        served.update((name, location_of(value)) for name, value in named.items())
        return served

    def check_production(self) -> None:
        """Refuse to start in production with development credentials, the noise model or the null model."""
        if self.env != "production":
            return
        problems = []
        parts = urlsplit(self.amqp_url)
        if "ATELIER_AMQP_URL" not in os.environ or parts.password in (None, "", "guest"):
            problems.append("ATELIER_AMQP_URL must be set with a real password (not guest)")
        if self.test_crash_prompt:
            problems.append("ATELIER_TEST_CRASH_PROMPT is for tests only")
        if self.storage_backend == "s3" and not (os.environ.get("ATELIER_S3_BUCKET") and os.environ.get("ATELIER_S3_SECRET_ACCESS_KEY")):
            problems.append("ATELIER_S3_BUCKET and ATELIER_S3_SECRET_ACCESS_KEY must be set for the s3 backend")
        if "ATELIER_MODEL" not in os.environ:
            problems.append("ATELIER_MODEL must name a real model in production")
        elif is_null_model(self.model):
            problems.append("ATELIER_MODEL=null (the null model) is for development and benchmarks only")
        if problems:
            raise RuntimeError("refusing to start: " + "; ".join(problems))


def location_of(model: str) -> str:
    if is_null_model(model):
        return NULL_MODEL
    candidate = resolve_path(model)
    return str(candidate) if candidate.exists() else model


def parse_models(value: str) -> dict[str, str]:
    """ATELIER_MODELS: "name=path,name=path"; names as a job's `model` field may hold them."""
    return parse_assignments(value, "ATELIER_MODELS")


def load_settings() -> Settings:
    settings = Settings()
    settings.check_production()
    return settings
