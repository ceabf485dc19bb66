"""A per-user cap on ordinary requests in flight in this process (finding 5).

The upstream pool is shared by everyone; without a cap, one user firing slow requests in
parallel could hold every pooled connection and make everybody else wait. A plain counter is
enough: the event loop is single-threaded, so check and increment cannot interleave.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .errors import ApiError

RETRY_AFTER_S = 1


class InFlightLimiter:
    def __init__(self, per_user: int):
        self.per_user = per_user
        self._counts: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, user_id: str | None) -> AsyncIterator[None]:
        if user_id is None or self.per_user <= 0:
            yield
            return
        if self._counts[user_id] >= self.per_user:
            raise ApiError(429, "too_many_requests",
                           f"you already have {self.per_user} requests in progress; wait for one to finish",
                           headers={"Retry-After": str(RETRY_AFTER_S)})
        self._counts[user_id] += 1
        try:
            yield
        finally:
            self._counts[user_id] -= 1
            if self._counts[user_id] <= 0:
                del self._counts[user_id]
