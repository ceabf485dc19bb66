"""Progress of the running batch, coalesced between the GPU thread and the connection thread.

The GPU thread records every step (``step``) and, when a preview is due, queues one from the
step's latents (``offer_latents``); the connection thread takes what is pending every
PROGRESS_EVERY_S (``take``) and publishes it. Only the newest step of each job is kept.

A preview is due at the first step of a batch and again only once ``take`` has handed the
previous ones out: at most one per published progress event, so the GPU thread pays for a
preview (a few small kernels and a non-blocking copy, atelier_inference.preview) only when an
event is going to carry it, not at every step. A preview whose copy has not landed yet stays
for the next ``take`` rather than being waited for.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, NamedTuple

from atelier_contracts import Envelope

from . import preview

log = logging.getLogger("atelier.inference.progress")


class PendingProgress(NamedTuple):
    job: Envelope
    step: int
    total: int
    preview: str | None  # a data URL (atelier_inference.preview), or None


class ProgressBoard:
    def __init__(self, *, previews: bool):
        self._previews_on = previews
        self._lock = threading.Lock()
        self._steps: dict[str, tuple[Envelope, int, int]] = {}
        self._previews: dict[str, preview.PendingPreview] = {}
        # Read and written without the lock: a race costs at most one extra preview.
        self._preview_due = previews
        self._failed_once = False

    @property
    def preview_due(self) -> bool:
        return self._preview_due

    def step(self, job: Envelope, step: int, total: int) -> None:
        """GPU thread: the job's newest step."""
        with self._lock:
            self._steps[job.data["job_id"]] = (job, step, total)

    def offer_latents(self, first_images: dict[str, int], latents: Any) -> None:
        """GPU thread, at a step's end: ``first_images`` maps each job of the call to the index
        of its first image in ``latents`` (batch, 4, h, w). Queues their previews when one is due."""
        if not self._preview_due:
            return
        self._preview_due = False
        try:
            started = {job_id: preview.start(latents[index]) for job_id, index in first_images.items()}
        except Exception as exc:  # noqa: BLE001 - a preview is a nicety: the step goes on without one
            # Said once per worker at warning level (a model whose latents are not SD 1.x/2.x's
            # would fail every step), then quietly.
            log.log(logging.DEBUG if self._failed_once else logging.WARNING, "no preview from these latents: %r", exc)
            self._failed_once = True
            return
        with self._lock:
            self._previews.update(started)

    def take(self) -> list[PendingProgress]:
        """Connection thread: every job's newest step since the last take, with its preview
        when one has landed; previews still on their way wait for the next take."""
        with self._lock:
            steps, self._steps = self._steps, {}
            landed = {job_id: pending for job_id, pending in self._previews.items()
                      if job_id in steps and pending.ready()}
            for job_id in landed:
                del self._previews[job_id]
            waiting = bool(self._previews)
        # Encoded outside the lock: the GPU thread's next step never waits for a JPEG.
        taken = [PendingProgress(job, step, total, _encode(landed.get(job_id)))
                 for job_id, (job, step, total) in steps.items()]
        if self._previews_on and taken and not waiting:
            self._preview_due = True
        return taken

    def clear(self) -> None:
        """The batch ended: what is pending is superseded by its outcomes; the next batch starts
        with a preview due."""
        with self._lock:
            self._steps, self._previews = {}, {}
        self._preview_due = self._previews_on


def _encode(pending: preview.PendingPreview | None) -> str | None:
    if pending is None:
        return None
    try:
        return pending.encode()
    except Exception as exc:  # noqa: BLE001 - progress goes out without its preview
        log.debug("could not encode a preview: %r", exc)
        return None
