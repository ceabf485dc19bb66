"""Auth's admin page for jobs and images, fed by pre_inference's staff API: pre_inference
owns jobs and images; auth knows who the owners are (their e-mail addresses). The page calls
``/api/v1/staff/*`` on pre_inference's internal address with a short access token minted for
the staff member at the keyboard, so pre_inference sees the same ``staff`` claim a staff
member's own session carries (signing.services.user_claims) and checks it as it would theirs."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings

from accounts.models import User, normalize_email
from signing.services import user_claims
from signing.tokens import AccessToken

# The page's own calls take a token that outlives them by little.
TOKEN_LIFETIME = timedelta(minutes=2)


class StaffApiError(Exception):
    """pre_inference could not answer; the page says so."""


@dataclass(frozen=True)
class Search:
    """What to ask pre_inference for, read from the staff member's one search box."""

    filter: str  # user | job | image
    value: str
    owner: User | None = None


def _token_for(staff: User) -> str:
    token = AccessToken()
    token.set_exp(lifetime=TOKEN_LIFETIME)
    token["sub"] = str(staff.pk)
    token.payload.update(user_claims(staff))
    return str(token)


def _call(staff: User, method: str, path: str) -> dict | None:
    request = Request(f"{settings.PRE_INFERENCE_URL}{path}", method=method,
                      headers={"Authorization": f"Bearer {_token_for(staff)}", "Accept": "application/json"})
    try:
        with urlopen(request, timeout=settings.AUTH_STAFF_API_TIMEOUT_S) as response:  # noqa: S310 - our own URL
            body = response.read()
    except HTTPError as exc:
        if exc.code == 404:
            return None
        raise StaffApiError(f"the job service answered {exc.code}") from exc
    except (URLError, OSError) as exc:
        raise StaffApiError(f"the job service could not be reached: {exc}") from exc
    return json.loads(body) if body else {}


def read_search(text: str) -> Search | None:
    """An e-mail address or a user id: that person's jobs; a job or image id: that job."""
    text = text.strip()
    if "@" in text:
        owner = User.objects.filter(email=normalize_email(text)).first()
        return Search("user", str(owner.pk), owner) if owner is not None else None
    try:
        wanted = uuid.UUID(text)
    except ValueError:
        return None
    owner = User.objects.filter(pk=wanted).first()
    return Search("user", str(wanted), owner) if owner is not None else Search("job_or_image", str(wanted))


def find_jobs(staff: User, search: Search, cursor: str | None = None) -> dict:
    """pre_inference's page of jobs (``items``, ``next_cursor``), each with ``owner_email``."""
    filters = ("job", "image") if search.filter == "job_or_image" else (search.filter,)
    page: dict = {"items": [], "next_cursor": None}
    for name in filters:
        query = {name: search.value, **({"cursor": cursor} if cursor else {})}
        page = _call(staff, "GET", f"/api/v1/staff/jobs?{urlencode(query)}") or page
        if page["items"]:
            break
    owners = dict(User.objects.filter(pk__in={job["user_id"] for job in page["items"]}).values_list("pk", "email"))
    for job in page["items"]:
        job["owner_email"] = owners.get(uuid.UUID(job["user_id"]), "")
    return page


def remove_image(staff: User, image_id: uuid.UUID) -> bool:
    """False: there was no such image (already removed)."""
    return _call(staff, "DELETE", f"/api/v1/staff/images/{image_id}") is not None
