"""Kubernetes exec probe: `python -m atelier_inference.probe [--max-age S]`.

The worker touches ATELIER_HEARTBEAT_FILE from its connection thread (idle or mid-job)
every few seconds; a stale or missing file means the loop is stuck or never connected.
Exit 0 = healthy, 1 = not.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BEAT_EVERY_S = 5.0


class Heartbeat:
    def __init__(self, path: str | None, *, every_s: float = BEAT_EVERY_S):
        self.path = Path(path) if path else None
        self.every_s = every_s
        self._last = 0.0

    def beat(self) -> None:
        if self.path is None or time.monotonic() - self._last < self.every_s:
            return
        self._last = time.monotonic()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError:
            pass  # a probe failing is the right outcome; the worker itself must go on

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def is_fresh(path: Path, max_age_s: float, now: float | None = None) -> bool:
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age <= max_age_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", default=os.environ.get("ATELIER_HEARTBEAT_FILE", "/tmp/atelier-inference.alive"))
    parser.add_argument("--max-age", type=float, default=60.0)
    args = parser.parse_args(argv)
    fresh = is_fresh(Path(args.file), args.max_age)
    print("ok" if fresh else f"stale or missing heartbeat {args.file}")
    return 0 if fresh else 1


if __name__ == "__main__":
    sys.exit(main())
