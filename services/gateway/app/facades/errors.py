"""Errors in each original's shape, for every refusal a facade route can meet: its own, the
native API's (an ApiError with the platform's code), the credential checks', a malformed body.

Each facade's router uses `route_class(render)`: the route catches what its endpoint raises
and answers with `render(error)`, so the gateway's app-wide handlers (the platform's shape)
never see a facade's errors. Headers that say when to retry (Retry-After, RateLimit) and how
to authenticate (WWW-Authenticate) are kept.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from ..errors import ApiError

logger = logging.getLogger("gateway.facades")

Render = Callable[[ApiError], JSONResponse]


def route_class(render: Render) -> type[APIRoute]:
    class FacadeRoute(APIRoute):
        def get_route_handler(self):
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except ApiError as exc:
                    return render(exc)
                except RequestValidationError as exc:
                    return render(validation_error(exc.errors()))
                except Exception:  # noqa: BLE001 - a bug still answers in the client's shape, never a page
                    logger.exception("facade %s failed", request.url.path)
                    request_id = getattr(request.state, "request_id", "")
                    return render(ApiError(500, "internal_error", f"internal error (request id {request_id})"))
            return handle
    return FacadeRoute


def validation_error(errors: list[dict]) -> ApiError:
    """pydantic's errors as the platform's `validation_error`, fields named by their path."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "form")]
        fields.setdefault(".".join(location) or "body", []).append(str(error.get("msg", "invalid")))
    first = next(iter(fields))
    return ApiError(422, "validation_error", f"{first}: {fields[first][0]}", fields=fields)


def kept_headers(error: ApiError) -> dict[str, str]:
    return dict(error.headers or {})
