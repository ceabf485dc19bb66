"""The platform's error format, {"error": {"code", "message", "fields"?}}, and its handlers:
all of it is ``atelier_kit.fastapi``, re-exported under the names the gateway's modules use.
The gateway has no error codes of its own beyond what its modules raise."""
from __future__ import annotations

from atelier_kit.errors import error_body, internal_error_body
from atelier_kit.fastapi import ApiError, error_response, install_error_handlers

__all__ = ["ApiError", "error_body", "error_response", "install_error_handlers", "internal_error_body"]
