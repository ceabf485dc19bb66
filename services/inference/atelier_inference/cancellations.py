"""Jobs canceled by their owners, as heard on this worker's own cancellation queue.

Read from the GPU thread at every step and written by the connection thread; bounded, and
entries expire: a cancellation matters only while its job may still reach this worker.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable


class CanceledJobs:
    def __init__(self, *, ttl_s: float = 6 * 3600, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self._lock:
            self._entries[job_id] = self._clock()
            self._entries.move_to_end(job_id)
            self._prune()

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _prune(self) -> None:
        horizon = self._clock() - self._ttl_s
        while self._entries and (len(self._entries) > self._max_entries or next(iter(self._entries.values())) < horizon):
            self._entries.popitem(last=False)
