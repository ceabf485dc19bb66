"""S3-compatible storage (AWS S3, Cloudflare R2, MinIO) through boto3.

Same API as FilesystemStorage. Object metadata travels as S3 user metadata
(``x-amz-meta-*``): S3 allows only ASCII in those headers and about 2 KB in all, so the
job's parameters go in one JSON value, ASCII-escaped, and long prompts are cut to fit.
"""
from __future__ import annotations

import json
import os
from typing import Any

from .filesystem import InvalidKey, ObjectNotFound, StorageError, StoredObject

# S3 caps user metadata at 2 KB per object (keys + values).
METADATA_BUDGET = 1800
NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}


def encode_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """One header per top-level field, values as ASCII JSON; over budget, the longest strings are trimmed."""
    doc = json.loads(json.dumps(metadata, default=str))
    while True:
        encoded = {str(k).lower().replace("_", "-"): json.dumps(v, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
                   for k, v in doc.items()}
        size = sum(len(k) + len(v) for k, v in encoded.items())
        if size <= METADATA_BUDGET:
            return encoded
        path, longest = _longest_string(doc)
        if path is None or len(longest) <= 16:
            return {k: v for k, v in encoded.items() if len(v) < 256}  # give up on the oversized ones
        _set(doc, path, longest[: len(longest) // 2] + "…")


def decode_metadata(headers: dict[str, str]) -> dict[str, Any]:
    decoded = {}
    for key, value in headers.items():
        try:
            decoded[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            decoded[key.replace("-", "_")] = value
    return decoded


def _longest_string(doc: Any, path: tuple = ()) -> tuple[tuple | None, str]:
    best: tuple[tuple | None, str] = (None, "")
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        found = (path + (key,), value) if isinstance(value, str) else _longest_string(value, path + (key,))
        if found[0] is not None and len(found[1]) > len(best[1]):
            best = found
    return best


def _set(doc: Any, path: tuple, value: str) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


class S3Storage:
    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None, prefix: str = "",
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0, max_attempts: int = 3,
                 client: Any = None):
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=connect_timeout_s, read_timeout=read_timeout_s,
                            retries={"max_attempts": max_attempts, "mode": "standard"},
                            s3={"addressing_style": "path" if endpoint_url else "auto"})
            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                  aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
                                  config=config)
        self.client = client

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "S3Storage":
        env = os.environ if environ is None else environ
        return cls(
            env.get("ATELIER_S3_BUCKET", ""),
            endpoint_url=env.get("ATELIER_S3_ENDPOINT_URL") or None,
            region=env.get("ATELIER_S3_REGION") or None,
            access_key_id=env.get("ATELIER_S3_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("ATELIER_S3_SECRET_ACCESS_KEY") or None,
            prefix=env.get("ATELIER_S3_PREFIX", ""),
            connect_timeout_s=float(env.get("ATELIER_S3_CONNECT_TIMEOUT_S", "5")),
            read_timeout_s=float(env.get("ATELIER_S3_READ_TIMEOUT_S", "30")),
        )

    def ensure_bucket(self) -> bool:
        """Creates the bucket unless it exists (a deployment's one-shot set-up step, not a
        request path); True when it was created. Idempotent, also against a concurrent create."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) not in {"404", "NoSuchBucket", "NotFound"}:
                raise StorageError(f"S3 head_bucket {self.bucket!r} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 head_bucket {self.bucket!r} failed: {exc}") from exc
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                return False
            raise StorageError(f"S3 create_bucket {self.bucket!r} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 create_bucket {self.bucket!r} failed: {exc}") from exc
        return True

    def object_name(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or ".." in parts or "\x00" in key or "" in parts:
            raise InvalidKey(f"invalid object key: {key!r}")
        return self.prefix + key

    def _call(self, key: str, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, Key=self.object_name(key), **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in NOT_FOUND_CODES:
                raise ObjectNotFound(key) from exc
            raise StorageError(f"S3 {operation} {key!r} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {operation} {key!r} failed: {exc}") from exc

    def put_bytes(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, Any] | None = None) -> None:
        # A single PUT is atomic in S3: readers see the whole object or none.
        self._call(key, "put_object", Body=data, ContentType=content_type, Metadata=encode_metadata(metadata or {}))

    def get_bytes(self, key: str) -> bytes:
        response = self._call(key, "get_object")
        with response["Body"] as body:
            return body.read()

    def open_object(self, key: str) -> StoredObject:
        """The object for streaming, one GET (content type and size come with it). Raises
        InvalidKey, ObjectNotFound or StorageError."""
        response = self._call(key, "get_object")
        return StoredObject(str(response.get("ContentType") or "application/octet-stream"),
                            response.get("ContentLength"), response["Body"])

    def exists(self, key: str) -> bool:
        try:
            self._call(key, "head_object")
        except ObjectNotFound:
            return False
        return True

    def read_meta(self, key: str) -> dict[str, Any]:
        head = self._call(key, "head_object")
        return {"content_type": head.get("ContentType", "application/octet-stream"),
                "metadata": decode_metadata(head.get("Metadata", {}))}

    def presigned_url(self, key: str, *, ttl_s: int = 3600) -> str:
        """A time-limited GET URL straight from the store (for a gateway that redirects instead of streaming)."""
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self.object_name(key)},
                                                  ExpiresIn=ttl_s)

    def delete(self, key: str) -> None:
        self._call(key, "delete_object")  # S3 deletes are idempotent
