"""The kit both Django services (auth, payments) are built on, so their error bodies,
request ids, JSON parsing, settings guards, scopes and admin login limits cannot drift.

Modules: errors (the body, pure), exceptions (DRF handler and error classes), json_errors
(handler views, the middleware that keeps debug pages away), strict_json (bounded parser),
request_ids (middleware and log filter), settings (environment guards), timestamps,
permissions (scopes), client_address, admin_throttle (with the app's one model)."""
from .errors import error_body, flatten_fields

__all__ = ["error_body", "flatten_fields"]
