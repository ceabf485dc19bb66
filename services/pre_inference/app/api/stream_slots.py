"""How many event streams one user may hold open in this process.

A stream costs a task, a socket and a job-channel listener for as long as the client
keeps it, so without a cap one user could exhaust the process for everyone (the gateway
caps streams per user too; this holds even for a caller that reaches us another way).

The count is per process and lives on the event loop: taking a slot checks and counts
with no await in between, so two streams opened at once cannot both take the last one.
"""
from __future__ import annotations

import uuid

from app.api.errors import ApiError
from app.api.metrics import count_rate_limited

RETRY_AFTER_S = 5


class StreamSlots:
    def __init__(self, per_user: int):
        self.per_user = per_user
        self._open: dict[uuid.UUID, int] = {}

    def take(self, user_id: uuid.UUID) -> "StreamSlot":
        held = self._open.get(user_id, 0)
        if held >= self.per_user:
            count_rate_limited("too_many_streams")
            raise ApiError(
                429, "too_many_streams", f"you already follow {held} event streams; close one (at most {self.per_user} at once)",
                retry_after=RETRY_AFTER_S, headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self._open[user_id] = held + 1
        return StreamSlot(self, user_id)

    def held_by(self, user_id: uuid.UUID) -> int:
        return self._open.get(user_id, 0)

    def _give_back(self, user_id: uuid.UUID) -> None:
        held = self._open.get(user_id, 0) - 1
        if held > 0:
            self._open[user_id] = held
        else:
            self._open.pop(user_id, None)  # no entry per user who ever streamed


class StreamSlot:
    def __init__(self, slots: StreamSlots, user_id: uuid.UUID):
        self._slots = slots
        self._user_id = user_id
        self._released = False

    def release(self) -> None:
        """Idempotent: the stream's end and the response's background task both call it."""
        if not self._released:
            self._released = True
            self._slots._give_back(self._user_id)
