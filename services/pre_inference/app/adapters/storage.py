"""Image URLs: signed, expiring paths under /files/ that the gateway verifies and serves."""
from __future__ import annotations

from atelier_storage import sign_path


class ImageUrlSigner:
    def __init__(self, signing_key: str, ttl_s: int):
        self._signing_key = signing_key
        self._ttl_s = ttl_s

    def url_for(self, key: str) -> str:
        return sign_path(self._signing_key, key, ttl_s=self._ttl_s)
