"""Errors, requests, event streams (reconnect, fallback to polling), downloads."""
from __future__ import annotations

import json

import httpx
import pytest

from atelier_client import (AsyncAtelier, Atelier, Forbidden, JobFailed, NotFound, Unauthorized, ValidationFailed,
                            WaitTimedOut)
from atelier_client.sse import SseParser
from atelier_client.types import Job

from .conftest import BASE, job_json

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def client(handler, **settings) -> Atelier:
    return Atelier(BASE, "atl_live_test", http_client=httpx.Client(transport=httpx.MockTransport(handler)), **settings)


def sse(*events: tuple[str, dict]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events) + b": keepalive\n\n"


def stream(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def test_errors_keep_the_platforms_code_and_fields():
    def handler(request):
        return httpx.Response(422, headers={"X-Request-ID": "r1"}, json={"error": {
            "code": "validation_error", "message": "bad", "fields": {"width": ["must be a multiple of 8"]}}})

    with pytest.raises(ValidationFailed) as raised:
        client(handler).submit("x", width=300)
    assert raised.value.code == "validation_error" and raised.value.fields == {"width": ["must be a multiple of 8"]}
    assert raised.value.status == 422 and raised.value.request_id == "r1"
    for status, cls in ((401, Unauthorized), (403, Forbidden), (404, NotFound)):
        with pytest.raises(cls):
            client(lambda request, s=status: httpx.Response(s, json={"error": {"code": "c", "message": "m"}})).get_job("j")


def test_a_submit_sends_the_key_the_body_and_the_inferred_kind():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(202, json=job_json())

    client(handler).submit("a lighthouse", width=64, init_image=PNG)
    [request] = seen
    body = json.loads(request.content)
    assert request.headers["Authorization"] == "Bearer atl_live_test" and request.url.path == "/api/v1/jobs"
    assert body["kind"] == "img2img" and body["width"] == 64 and body["init_image"].startswith("data:image/png;base64,")


def test_events_follow_the_stream_to_its_end():
    def handler(request):
        assert request.url.path.endswith("/events") and request.headers["Accept"] == "text/event-stream"
        return stream(sse(("job", job_json("running", step=1)), ("preview", {"job_id": "j", "step": 1, "image": "data:x"}),
                          ("job", job_json("succeeded"))))

    events = list(client(handler).events("j"))
    assert [e.type for e in events] == ["progress", "preview", "end"]
    assert events[1].image == "data:x" and events[2].job.images[0].seed == 7


def test_a_dropped_stream_reconnects_with_the_last_event_id(slept):
    opened = []

    def handler(request):
        opened.append(request.headers.get("Last-Event-ID"))
        if len(opened) == 1:
            return stream(b"id: 5\nevent: job\ndata: " + json.dumps(job_json("running")).encode() + b"\n\n")
        return stream(sse(("job", job_json("succeeded"))))

    events = list(client(handler).events("j"))
    assert opened == [None, "5"] and [e.type for e in events] == ["progress", "end"]


def test_without_a_stream_the_job_is_polled(slept):
    reads = [job_json("queued"), job_json("running"), job_json("succeeded")]

    def handler(request):
        if request.url.path.endswith("/events"):
            return httpx.Response(429, json={"error": {"code": "too_many_streams", "message": "m"}})
        return httpx.Response(200, json=reads.pop(0))

    atelier = client(handler, poll_interval=0.5)
    assert [e.type for e in atelier.events("j")] == ["progress", "progress", "end"]
    assert slept == [0.5, 0.5]


def test_generate_raises_job_failed_and_wait_times_out(slept):
    failed = job_json("failed", error={"code": "worker_error", "message": "out of memory"})
    handler = lambda request: (stream(sse(("job", failed))) if request.url.path.endswith("/events")  # noqa: E731
                               else httpx.Response(202, json=job_json()))
    with pytest.raises(JobFailed) as raised:
        client(handler).generate("x")
    assert raised.value.code == "worker_error" and raised.value.job.status == "failed"

    def never_ends(request):
        if request.url.path.endswith("/events"):
            raise httpx.ReadTimeout("quiet")
        return httpx.Response(200, json=job_json("running"))

    with pytest.raises(WaitTimedOut):
        client(never_ends).wait("j", timeout=0.0)


def test_download_sends_the_key_only_to_the_platform(tmp_path):
    seen = []

    def handler(request):
        seen.append((request.url.host, request.headers.get("Authorization")))
        return httpx.Response(200, content=PNG)

    atelier = client(handler)
    image = Job.from_json(job_json("succeeded")).images[0]
    assert atelier.download(image) == PNG
    assert atelier.save("https://cdn.example/x.png", tmp_path / "x.png").read_bytes() == PNG
    assert seen == [("atelier.test", "Bearer atl_live_test"), ("cdn.example", None)]


def test_the_sse_parser_joins_data_lines_and_skips_comments():
    parser = SseParser()
    fed = [parser.feed(line) for line in [": keepalive", "", "event: job", "data: {", "data: }", "id: 3", ""]]
    assert fed[:-1] == [None] * 6 and fed[-1].event == "job" and fed[-1].data == "{\n}" and fed[-1].id == "3"


async def test_the_async_client_follows_events_and_downloads():
    def handler(request):
        if request.url.path.endswith("/events"):
            return stream(sse(("job", job_json("running")), ("job", job_json("succeeded"))))
        if request.url.path.startswith("/files/"):
            return httpx.Response(200, content=PNG)
        return httpx.Response(202, json=job_json())

    async with AsyncAtelier(BASE, "atl_live_test", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as atelier:
        job = await atelier.generate("x")
        assert job.status == "succeeded" and await atelier.download(job.images[0]) == PNG
        assert [e.type async for e in atelier.events(job.id)] == ["progress", "end"]


def test_loras_go_with_the_job_a_bare_name_at_weight_one():
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(202, json=job_json())

    client(handler).submit("a lighthouse", loras=[{"name": "ink.v2", "weight": 0.6}, "watercolour"])
    assert seen[0]["loras"] == [{"name": "ink.v2", "weight": 0.6}, {"name": "watercolour", "weight": 1.0}]
    assert seen[0]["kind"] == "txt2img"
    client(handler).submit("no adapters")
    assert "loras" not in seen[1]


def test_a_refused_lora_names_its_place():
    def handler(request):
        return httpx.Response(422, json={"error": {"code": "lora_unknown", "message": "default has no LoRA 'x'",
                                                   "fields": {"loras[0].name": ["default has no LoRA 'x'"]}}})

    with pytest.raises(ValidationFailed) as raised:
        client(handler).submit("x", loras=[{"name": "x", "weight": 1.0}])
    assert raised.value.code == "lora_unknown" and "loras[0].name" in raised.value.fields


async def test_models_list_their_loras_sync_and_async():
    model = {"name": "default", "state": "ready", "family": "sd1", "variant": "base", "kinds": ["txt2img"],
             "schedulers": None, "tiers": ["free"], "allowed": True, "loras": ["ink.v2", "watercolour"],
             "limits": {"native_size": 512, "max_size": 768, "size_multiple": 8, "default_steps": 20, "max_steps": 50,
                        "default_guidance": 7.0, "max_guidance": 20.0, "negative_prompt": True}}
    older = {k: v for k, v in model.items() if k != "loras"}  # a platform from before LoRAs

    def handler(request):
        assert request.url.path == "/api/v1/models"
        return httpx.Response(200, json={"models": [model, older]})

    assert [m.loras for m in client(handler).models()] == [["ink.v2", "watercolour"], []]
    async with AsyncAtelier(BASE, "atl_live_test", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as atelier:
        assert (await atelier.models())[0].loras == ["ink.v2", "watercolour"]
