"""Bodies of /api/v1/webhooks (shapes only; the rules are app.domain.webhook_targets')."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import OneLineText
from app.domain.webhook_targets import URL_MAX_CHARS

DESCRIPTION_MAX_CHARS = 200


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: OneLineText = Field(min_length=1, max_length=URL_MAX_CHARS, description=(
        "Where job ends are POSTed: https (http outside production), a public address, no user:password."))
    description: OneLineText = Field(default="", max_length=DESCRIPTION_MAX_CHARS)


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    status: Literal["active", "disabled"]
    disabled_reason: str | None = Field(default=None, description="Why deliveries stopped (e.g. the receiver answered 410 Gone).")
    created_at: datetime
    secret_rotated_at: datetime | None = None


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description=(
        "The signing secret, shown this once: verify `Atelier-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>`."))


class WebhookList(BaseModel):
    items: list[WebhookOut]
    limit: int = Field(description="How many endpoints one account may register.")


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="The event id the receiver sees (`id` in the body, `Atelier-Webhook-Id`); the same on every attempt.")
    event: str = Field(description="`job.succeeded`, `job.failed`, `job.canceled` or `ping`.")
    job_id: uuid.UUID | None = None
    status: Literal["pending", "delivered", "failed"]
    attempts: int = Field(description="Attempts made so far.")
    status_code: int | None = Field(default=None, description="The receiver's answer to the last attempt; null: none (timeout, refused address, connection error).")
    error: str | None = Field(default=None, description="What went wrong on the last attempt.")
    duration_ms: float | None = None
    next_attempt_at: datetime | None = Field(default=None, description="When it is tried again; null unless pending.")
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last page.")
