"""/api/v1/staff: staff find any job or image with its owner, and remove an image.

Who is staff is auth's to say: its access tokens carry ``staff: true`` for staff members
(signing.services.user_claims). A token made from an API key never acts as staff, whoever
owns the key. Owners are user ids; the auth admin finds the person behind one (and a
user's id by e-mail address). Every removal is logged with the staff member who made it.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field

from app.adapters import staff_repo, storage_cleanup
from app.adapters.staff_repo import StaffJobView
from app.adapters.storage import ImageUrlSigner
from app.api.deps import Caller, ReadConnDep, SessionDep, SignerDep, get_caller
from app.api.errors import ApiError
from app.api.presenters import decode_cursor, encode_cursor, parse_id
from app.api.schemas import ErrorOut, ImageOut, JobErrorOut

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])
log = logging.getLogger("pre_inference.staff")
_ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut, "description": "`permission_denied`: not a staff member's own session"}}


async def require_staff(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if caller.api_key_id is not None or caller.identity.claims.get("staff") is not True:
        raise ApiError(403, "permission_denied", "only staff may do this, from their own session (not an API key)")
    return caller


StaffCaller = Annotated[Caller, Depends(require_staff)]


class StaffJobOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID = Field(description="The owner: the user's id in auth.")
    api_key_id: str | None = Field(description="The API key that submitted it; null for the user's own session.")
    tier: str
    kind: str
    status: str
    params: dict[str, Any]
    error: JobErrorOut | None = None
    images: list[ImageOut]
    created_at: datetime
    finished_at: datetime | None = None


class StaffJobPage(BaseModel):
    items: list[StaffJobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last page.")


def _out(job: StaffJobView, signer: ImageUrlSigner) -> StaffJobOut:
    return StaffJobOut(
        id=job.id, user_id=job.user_id, api_key_id=job.api_key_id, tier=job.tier, kind=job.kind, status=job.status,
        params=job.params, created_at=job.created_at, finished_at=job.finished_at,
        error=JobErrorOut(code=job.error_code, message=job.error_message or "") if job.error_code else None,
        images=[ImageOut(id=i.id, url=signer.url_for(i.key), seed=i.seed, width=i.width, height=i.height) for i in job.images],
    )


def _one_id(raw: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"{name} must be an id", fields={name: ["not an id"]}) from exc


@router.get("/jobs", response_model=StaffJobPage, responses={**_ERRORS, 422: {"model": ErrorOut}},
            summary="Find jobs of any user: a user's (newest first), one job, or the job holding an image")
async def find_jobs(
    caller: StaffCaller,
    conn: ReadConnDep,
    signer: SignerDep,
    user: Annotated[str | None, Query(max_length=64, description="a user id: that user's jobs")] = None,
    job: Annotated[str | None, Query(max_length=64, description="a job id")] = None,
    image: Annotated[str | None, Query(max_length=64, description="an image id: the job that made it")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> StaffJobPage:
    given = {name: value for name, value in (("user", user), ("job", job), ("image", image)) if value}
    if len(given) != 1:
        message = "give exactly one of user, job or image"
        raise ApiError(422, "validation_error", message, fields={name: [message] for name in ("user", "job", "image")})
    (name, raw), = given.items()
    wanted = _one_id(raw.strip(), name)
    if name == "user":
        before = decode_cursor(cursor) if cursor else None
        jobs = await staff_repo.jobs_of_user(conn, wanted, limit=limit + 1, before=before)
        page, more = jobs[:limit], len(jobs) > limit
        return StaffJobPage(items=[_out(j, signer) for j in page],
                            next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None)
    found = await (staff_repo.job_by_id(conn, wanted) if name == "job" else staff_repo.job_of_image(conn, wanted))
    return StaffJobPage(items=[_out(found, signer)] if found is not None else [], next_cursor=None)


@router.delete("/images/{image_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**_ERRORS, 404: {"model": ErrorOut}},
               summary="Remove any user's image")
async def remove_image(image_id: str, caller: StaffCaller, session: SessionDep, request: Request) -> Response:
    removed = await staff_repo.remove_image(session, parse_id(image_id, "image"))
    if removed is None:
        raise ApiError(404, "not_found", "no such image")
    # The record of who removed what: staff act on other people's work.
    log.info(json.dumps({"event": "staff_removed_image", "staff_user_id": str(caller.user_id), "image_id": image_id,
                         "job_id": str(removed.job_id), "owner_id": str(removed.owner_id)}))
    # As for the owner's own delete: removed at once where the store answers, else by the sweeper.
    await storage_cleanup.delete_now(session, request.app.state.storage, removed.key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
