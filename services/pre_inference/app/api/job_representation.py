"""A job as the API shows it (GET /api/v1/jobs/{id}), from its row.

Apart from the routes' other helpers (app.api.presenters) because the consumer process builds
it too, for webhook payloads, and must not import the API's error handling and metrics.
"""
from __future__ import annotations

from app.adapters.jobs_repo import JobView
from app.adapters.storage import ImageUrlSigner
from app.api.schemas import ImageOut, JobErrorOut, JobOut
from app.domain.lifecycle import QUEUED, RUNNING


def phase_of(job: JobView) -> str:
    """A running job at step 0 is a worker still loading its model (a cold start)."""
    if job.status == RUNNING and job.step == 0 and job.progress == 0:
        return "warming_up"
    return job.status


def job_out(job: JobView, signer: ImageUrlSigner) -> JobOut:
    return JobOut(
        id=job.id,
        status=job.status,
        phase=phase_of(job),
        queue_position=job.queue_position if job.status == QUEUED else None,
        step=job.step,
        total_steps=job.total_steps,
        progress=job.progress,
        images=[ImageOut(id=i.id, url=signer.url_for(i.key), seed=i.seed, width=i.width, height=i.height) for i in job.images],
        error=JobErrorOut(code=job.error_code, message=job.error_message or "") if job.error_code else None,
        params=job.params,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
