"""Where images live, and the signed URLs through which the gateway hands them out."""
from __future__ import annotations

import os
from typing import Union

from .filesystem import FilesystemStorage, InvalidKey, ObjectNotFound, StorageError, StoredObject
from .s3 import S3Storage
from .signing import SignatureError, sign_path, verify_signature

BACKENDS = ("filesystem", "s3")
# Both offer put_bytes, get_bytes, open_object, exists, read_meta, delete.
Storage = Union[FilesystemStorage, S3Storage]


def storage_from_env(default_dir: str | os.PathLike[str] = "var/storage", environ: dict[str, str] | None = None,
                     *, directory: str | os.PathLike[str] | None = None) -> Storage:
    """ATELIER_STORAGE_BACKEND=filesystem (ATELIER_STORAGE_DIR) or s3 (ATELIER_S3_*).
    ``directory``: the filesystem root a service already read from its own settings, which
    then wins over ATELIER_STORAGE_DIR (tests hand each app its own directory)."""
    env = os.environ if environ is None else environ
    backend = env.get("ATELIER_STORAGE_BACKEND", "filesystem").strip() or "filesystem"
    if backend == "filesystem":
        return FilesystemStorage(directory or env.get("ATELIER_STORAGE_DIR") or default_dir)
    if backend == "s3":
        return S3Storage.from_env(env)
    raise ValueError(f"ATELIER_STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")


__all__ = ["BACKENDS", "FilesystemStorage", "InvalidKey", "ObjectNotFound", "S3Storage", "SignatureError", "Storage",
           "StorageError", "StoredObject", "sign_path", "storage_from_env", "verify_signature"]
