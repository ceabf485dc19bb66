"""Job statuses and which transitions the worker's events may cause.

Events arrive at least once and in any order, so each transition names the statuses it
may start from; the adapter turns that into a conditional UPDATE. A transition whose
precondition no longer holds (a late ``started`` after ``succeeded``) changes nothing.
"""
from __future__ import annotations

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = "queued", "running", "succeeded", "failed", "canceled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})

# target status -> statuses it may be entered from
ALLOWED_FROM: dict[str, frozenset[str]] = {
    RUNNING: frozenset({QUEUED}),
    SUCCEEDED: frozenset({QUEUED, RUNNING}),
    FAILED: frozenset({QUEUED, RUNNING}),
    CANCELED: frozenset({QUEUED, RUNNING}),
}

# Progress is only reported while a job runs, and never moves backwards.
PROGRESS_WHILE = frozenset({RUNNING})


def can_transition(current: str, target: str) -> bool:
    return current in ALLOWED_FROM.get(target, frozenset())


def progress_fraction(step: int, total_steps: int) -> float:
    """Clamped into [0, 1]: a worker counting past its total must not show 110 %."""
    if total_steps <= 0:
        return 0.0
    return min(1.0, max(0.0, step / total_steps))
