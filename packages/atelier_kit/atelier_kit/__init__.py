"""The rules every Atelier service shares, written once and free of any web framework.

Modules: errors (the error body), guard (the production secret guard), defaults (development
values services must agree on), strict_json (bounded JSON decoding), request_ids (which
X-Request-ID values are kept), logs (the one JSON log line), timestamps. The faces adapt them:
``atelier_kit.fastapi`` for the FastAPI services, ``atelier_django`` for the Django ones.
"""
from .errors import error_body, flatten_fields

__all__ = ["error_body", "flatten_fields"]
