"""Atelier's Python client for partners: the native job API (web_client/openapi/pre_inference.json)
through the gateway, with an API key. See README.md."""
from .async_client import AsyncAtelier
from .errors import (AtelierError, ConnectionFailed, Forbidden, JobFailed, NotFound, RateLimited, Unauthorized,
                     ValidationFailed, WaitTimedOut)
from .retry import RetryPolicy
from .sync_client import Atelier
from .types import Event, Image, Job, JobError, JobParams, Lora, Model, ModelLimits

__all__ = [
    "Atelier", "AsyncAtelier", "RetryPolicy",
    "Job", "JobError", "JobParams", "Lora", "Image", "Model", "ModelLimits", "Event",
    "AtelierError", "Unauthorized", "Forbidden", "NotFound", "ValidationFailed", "RateLimited", "ConnectionFailed",
    "JobFailed", "WaitTimedOut",
]
