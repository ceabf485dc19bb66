"""Helpers the Django services share so their error bodies stay one contract."""
from .errors import error_body, flatten_fields

__all__ = ["error_body", "flatten_fields"]
