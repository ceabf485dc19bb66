"""The error body and field flattening: defined once in ``atelier_kit.errors``."""
from atelier_kit.errors import error_body, flatten_fields

__all__ = ["error_body", "flatten_fields"]
