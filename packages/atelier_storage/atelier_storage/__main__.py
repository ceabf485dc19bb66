"""Storage set-up for a deployment: `python -m atelier_storage ensure-bucket`.

Reads the same ATELIER_S3_* settings as the services and creates the bucket unless it exists,
retrying while the store is still starting (a compose or Kubernetes one-shot runs beside it).
"""
from __future__ import annotations

import sys
import time

from .s3 import S3Storage, StorageError

WAIT_S = 60.0


def ensure_bucket(*, wait_s: float = WAIT_S) -> int:
    storage = S3Storage.from_env()
    deadline = time.monotonic() + wait_s
    while True:
        try:
            created = storage.ensure_bucket()
        except StorageError as error:
            if time.monotonic() > deadline:
                print(f"the S3 store did not answer in {wait_s:.0f} s: {error}", file=sys.stderr)
                return 1
            time.sleep(1.0)
            continue
        print(f"bucket {storage.bucket}: {'created' if created else 'already there'}")
        return 0


def main(argv: list[str]) -> int:
    if argv != ["ensure-bucket"]:
        print("usage: python -m atelier_storage ensure-bucket", file=sys.stderr)
        return 2
    return ensure_bucket()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
