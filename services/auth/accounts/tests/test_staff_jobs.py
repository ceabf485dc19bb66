"""The admin's Jobs and images page: auth finds the owner, pre_inference (a real HTTP
server on loopback answering as its staff API does) holds the jobs; the page calls it with
a token of the staff member's own that auth signed with the staff claim."""
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from atelier_identity import TokenVerifier
from django.test import Client

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
PAGE = "/admin/auth/accounts/user/jobs/"


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, email_verified=True)


@pytest.fixture
def browser(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def job_service(settings):
    """Answers GET /api/v1/staff/jobs with ``jobs`` and DELETE /api/v1/staff/images/<id> with 204."""
    seen: list[tuple[str, str, str]] = []
    state = {"jobs": []}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict | None) -> None:
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802
            seen.append(("GET", self.path, self.headers["authorization"]))
            self._answer(200, {"items": state["jobs"], "next_cursor": None})

        def do_DELETE(self):  # noqa: N802
            seen.append(("DELETE", self.path, self.headers["authorization"]))
            self._answer(204, None)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PRE_INFERENCE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield state, seen
    server.shutdown()
    server.server_close()


def a_job(owner_id, image_id) -> dict:
    return {"id": str(uuid.uuid4()), "user_id": str(owner_id), "api_key_id": None, "tier": "free", "kind": "txt2img",
            "status": "succeeded", "params": {"prompt": "a quiet harbour"}, "error": None, "created_at": "2026-01-02T03:04:05Z",
            "finished_at": None, "images": [{"id": str(image_id), "url": "/files/jobs/x/0.png?exp=1&sig=s", "seed": 1,
                                             "width": 512, "height": 256}]}


def test_staff_find_a_persons_jobs_by_email_with_a_staff_token_of_their_own(browser, staff, job_service, api_client):
    state, seen = job_service
    owner = UserFactory(email="painter@example.com")
    image_id = uuid.uuid4()
    state["jobs"] = [a_job(owner.pk, image_id)]
    page = browser.get(PAGE, {"q": "Painter@example.com"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "a quiet harbour" in text and f"/admin/auth/accounts/user/{owner.pk}/change/" in text
    assert 'src="/files/jobs/x/0.png?exp=1&amp;sig=s"' in text and f'aria-label="Remove image {image_id}"' in text
    [(method, path, authorization)] = seen
    assert (method, path) == ("GET", f"/api/v1/staff/jobs?user={owner.pk}")
    jwks = api_client.get("/api/auth/.well-known/jwks.json").json()
    verifier = TokenVerifier("http://127.0.0.1:9/unused")
    verifier.load_keys(jwks)
    identity = verifier.verify(authorization.removeprefix("Bearer "))
    assert identity.user_id == str(staff.pk) and identity.claims["staff"] is True and identity.api_key_id is None

    removed = browser.post("/admin/auth/accounts/user/jobs/remove-image/", {"image": str(image_id), "q": "painter@example.com"})
    assert removed.status_code == 302 and removed["Location"].startswith(PAGE)
    assert seen[-1][:2] == ("DELETE", f"/api/v1/staff/images/{image_id}")


def test_a_job_or_image_id_is_looked_up_as_a_job_then_as_an_image(browser, job_service):
    state, seen = job_service
    wanted = uuid.uuid4()
    browser.get(PAGE, {"q": str(wanted)})
    assert [path for _, path, _ in seen] == [f"/api/v1/staff/jobs?job={wanted}", f"/api/v1/staff/jobs?image={wanted}"]


def test_the_page_says_what_it_cannot_do(browser, settings):
    assert "No person has that e-mail address" in browser.get(PAGE, {"q": "nobody@example.com"}).content.decode()
    settings.PRE_INFERENCE_URL = "http://127.0.0.1:9"
    owner = UserFactory()
    text = browser.get(PAGE, {"q": owner.email}).content.decode()
    assert "Jobs cannot be shown right now" in text


def test_staff_without_the_view_permission_on_people_cannot_open_it(job_service):
    clerk = UserFactory(is_staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get(PAGE, {"q": "x@example.com"}).status_code == 403
    assert client.post("/admin/auth/accounts/user/jobs/remove-image/", {"image": str(uuid.uuid4())}).status_code == 403
    assert job_service[1] == []
