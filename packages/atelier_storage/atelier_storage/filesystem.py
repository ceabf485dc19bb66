"""Filesystem storage: objects are files under one root; keys are relative paths."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

CHUNK_BYTES = 64 * 1024


class InvalidKey(ValueError):
    pass


class ObjectNotFound(KeyError):
    """No object under that key."""


class StorageError(OSError):
    """The store could not be reached or refused the request; the caller may retry later."""


@dataclass
class StoredObject:
    """An object opened for reading, from whichever backend: iterate ``chunks()`` (blocking
    reads: call from a thread in async code), then ``close()``."""

    content_type: str
    size: int | None
    body: BinaryIO

    def chunks(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        try:
            while chunk := self.body.read(chunk_bytes):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.body.close()


class FilesystemStorage:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def path_for(self, key: str) -> Path:
        pure = PurePosixPath(key)
        if not key or pure.is_absolute() or ".." in pure.parts or "\x00" in key:
            raise InvalidKey(f"invalid object key: {key!r}")
        path = (self.root / pure).resolve()
        if self.root not in path.parents:
            raise InvalidKey(f"invalid object key: {key!r}")
        return path

    def put_bytes(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, Any] | None = None) -> None:
        """Atomic: readers see the whole object or none (write to a temp file, then rename)."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        sidecar = {"content_type": content_type, "metadata": metadata or {}}
        for target, payload in ((path.with_name(path.name + ".meta.json"), json.dumps(sidecar).encode()), (path, data)):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def open_object(self, key: str) -> StoredObject:
        """The object for streaming. Raises InvalidKey or ObjectNotFound."""
        path = self.path_for(key)
        try:
            body = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        content_type = str(self.read_meta(key).get("content_type") or "application/octet-stream")
        return StoredObject(content_type, os.fstat(body.fileno()).st_size, body)

    def read_meta(self, key: str) -> dict[str, Any]:
        meta = self.path_for(key).with_name(self.path_for(key).name + ".meta.json")
        return json.loads(meta.read_text()) if meta.is_file() else {"content_type": "application/octet-stream", "metadata": {}}

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        for target in (path, path.with_name(path.name + ".meta.json")):
            target.unlink(missing_ok=True)
