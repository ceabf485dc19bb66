"""/api/v1/images: my gallery (paged, with each image's parameters and seed, searchable by prompt); delete one."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.adapters import jobs_repo, storage_cleanup
from app.api.deps import Caller, SessionDep, SignerDep, require_scope
from app.api.errors import ApiError
from app.api.presenters import decode_cursor, encode_cursor, parse_id
from app.api.schemas import ErrorOut, GalleryImage, ImagePage, OneLineText

router = APIRouter(prefix="/api/v1/images", tags=["images"])
ImagesCaller = Annotated[Caller, Depends(require_scope("images:read"))]
# Deleting is a write on images; a key needs jobs:write for it (there is no images:write).
DeleteCaller = Annotated[Caller, Depends(require_scope("jobs:write"))]
# A search is a few words; each is one more condition on the scan of the caller's rows.
SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 8
_ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut, "description": "`insufficient_scope`"}}


@router.get("", response_model=ImagePage, responses={**_ERRORS, 422: {"model": ErrorOut}}, summary="List my images, newest first")
async def list_images(
    caller: ImagesCaller,
    session: SessionDep,
    signer: SignerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[OneLineText | None, Query(max_length=SEARCH_MAX_CHARS, description=(
        f"Only images whose prompt contains every word of this (at most {SEARCH_MAX_WORDS}), in any case and order. "
        "Pass the same q with the cursor of the next page."))] = None,
) -> ImagePage:
    before = decode_cursor(cursor) if cursor else None
    words = tuple(dict.fromkeys((q or "").split()))
    if len(words) > SEARCH_MAX_WORDS:
        raise ApiError(422, "validation_error", f"search for at most {SEARCH_MAX_WORDS} words",
                       fields={"q": [f"at most {SEARCH_MAX_WORDS} words"]})
    rows = await jobs_repo.list_images_for_user(session, caller.user_id, limit=limit + 1, before=before, prompt_words=words)
    page, more = rows[:limit], len(rows) > limit
    items = [
        GalleryImage(
            id=image.id, job_id=job.id, url=signer.url_for(image.key), seed=image.seed, width=image.width,
            height=image.height, params={**job.params, "seed": image.seed}, created_at=image.created_at,
        )
        for image, job in page
    ]
    return ImagePage(items=items, next_cursor=encode_cursor(page[-1][0].created_at, page[-1][0].id) if more else None)


@router.delete("/{image_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**_ERRORS, 404: {"model": ErrorOut}}, summary="Delete one of my images")
async def delete_image(image_id: str, caller: DeleteCaller, session: SessionDep, request: Request) -> Response:
    key = await jobs_repo.delete_image_for_user(session, parse_id(image_id, "image"), caller.user_id)
    if key is None:
        raise ApiError(404, "not_found", "no such image")
    # The row is gone (the image is no longer listed or signed) and its object queued for
    # deletion in the same transaction. Deleted here at once where the store answers; else the
    # sweeper does it (app.adapters.storage_cleanup), rather than failing the user's delete.
    await storage_cleanup.delete_now(session, request.app.state.storage, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
