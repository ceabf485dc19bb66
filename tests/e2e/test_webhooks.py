"""Job callbacks through the whole platform: a partner registers a receiver (here, one
running in the test on 127.0.0.1, which development allows), generates a job, and gets its
end POSTed, signed with the secret it was shown once, the images' URLs absolute and signed."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from atelier_kit.webhook_signatures import verify

from .flows import eventually, verified_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver():
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/atelier-hooks", received
    server.shutdown()
    server.server_close()


def test_a_finished_job_is_posted_signed_to_the_partners_endpoint(platform, receiver):
    url, received = receiver
    with httpx.Client(base_url=platform["base_url"], timeout=30) as client:
        user = verified_user(client, Path(platform["env"]["ATELIER_MAIL_DIR"]), "hooks")
        created = client.post("/api/v1/webhooks", json={"url": url, "description": "e2e"}, headers=user["headers"])
        assert created.status_code == 201, created.text
        endpoint = created.json()
        job = client.post("/api/v1/jobs", json={"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64,
                                                "height": 64, "steps": 2}, headers=user["headers"])
        assert job.status_code == 202, job.text
        job_id = job.json()["id"]

        def job_posted():
            return [(h, b) for h, b in received if h.get("atelier-webhook-event", "").startswith("job.")]

        [(headers, body)] = eventually(job_posted, "the job's end POSTed to the receiver", timeout=120)
        verify(endpoint["secret"], body, headers["atelier-signature"])
        document = json.loads(body)
        assert document["type"] == "job.succeeded" and document["id"] == headers["atelier-webhook-id"]
        assert document["data"]["id"] == job_id and document["data"]["status"] == "succeeded"
        image_url = document["data"]["images"][0]["url"]
        public_url = platform["env"]["ATELIER_PUBLIC_URL"].rstrip("/")
        assert image_url.startswith(public_url + "/files/") and "sig=" in image_url
        # The signed URL works (through the gateway, as the receiver would fetch it).
        assert client.get(image_url.removeprefix(public_url)).status_code == 200

        log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=user["headers"])
        assert log.status_code == 200, log.text
        [delivery] = log.json()["items"]
        assert (delivery["id"], delivery["status"], delivery["status_code"], delivery["job_id"]) == (
            document["id"], "delivered", 204, job_id)
