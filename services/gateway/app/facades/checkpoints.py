"""AUTOMATIC1111's model switch (`POST /sdapi/v1/options` with `sd_model_checkpoint`), per caller.

A1111 has one global model; here every job names its own, so the choice is kept per API key
(per account for a session token) in the gateway's Redis, and txt2img/img2img that send no
`override_settings.sd_model_checkpoint` use it. It lapses after CHECKPOINT_TTL_S without use
(each read renews it), so abandoned keys leave nothing behind for long.
"""
from __future__ import annotations

import logging

from atelier_identity import Identity
from fastapi import Request

from ..errors import ApiError

logger = logging.getLogger("gateway.facades")

CHECKPOINT_TTL_S = 30 * 24 * 3600


def _key(request: Request, identity: Identity) -> str:
    prefix = request.app.state.settings.atelier_redis_prefix
    owner = f"key:{identity.api_key_id}" if identity.api_key_id else f"user:{identity.user_id}"
    return f"{prefix}a1111-checkpoint:{owner}"


def _unavailable(exc: Exception) -> ApiError:
    # Not failing open: a generation with the default model in place of the one the client chose
    # would look like success and be the wrong picture.
    logger.warning("the A1111 checkpoint store is unavailable: %r", exc)
    return ApiError(503, "settings_unavailable", "stored settings are unavailable; try again shortly",
                    headers={"Retry-After": "5"})


async def remember(request: Request, identity: Identity, model: str) -> None:
    try:
        await request.app.state.redis.set(_key(request, identity), model, ex=CHECKPOINT_TTL_S)
    except Exception as exc:  # noqa: BLE001 - any Redis failure is the store being away
        raise _unavailable(exc) from exc


async def recall(request: Request, identity: Identity) -> str | None:
    """The model the caller chose with /options, or None (the native default applies)."""
    try:
        stored = await request.app.state.redis.getex(_key(request, identity), ex=CHECKPOINT_TTL_S)
    except Exception as exc:  # noqa: BLE001 - any Redis failure is the store being away
        raise _unavailable(exc) from exc
    return stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
