"""packages/atelier_client, the partners' Python client, against the whole platform through the
gateway with an API key made as a partner makes one: generate sync and async, follow the event
stream, download PNGs, idempotent resubmits, and the platform's errors as its exceptions."""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from atelier_client import AsyncAtelier, Atelier, NotFound, Unauthorized, ValidationFailed

from .flows import verified_user

pytestmark = pytest.mark.e2e
SMALL = {"width": 128, "height": 128, "steps": 4}


@pytest.fixture(scope="module")
def http(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=60) as c:
        yield c


@pytest.fixture
def key(http, platform) -> str:
    """A fresh verified user's API key: a free tier runs one job at a time, so each test has its own."""
    person = verified_user(http, Path(platform["env"]["ATELIER_MAIL_DIR"]), prefix="pyclient")
    response = http.post("/api/auth/api-keys", json={"name": "python client"}, headers=person["headers"])
    assert response.status_code == 201, response.text
    return response.json()["secret"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data)).size


def test_generate_downloads_and_saves_pngs(platform, key, tmp_path):
    with Atelier(platform["base_url"], key, timeout=60) as atelier:
        job = atelier.generate("a lighthouse at dusk", n=2, seed=11, timeout=180, **SMALL)
        # The worker that made it has announced itself by now (a fresh platform's catalogue is empty).
        [model] = [model for model in atelier.models() if model.name == job.params.get("model", "default")]
        assert model.state in ("ready", "cold") and model.allowed and model.limits.max_size >= 128
        assert job.status == "succeeded" and len(job.images) == 2 and job.images[0].seed == 11
        assert png_size(atelier.download(job.images[0])) == (128, 128)
        saved = atelier.save(job.images[1], tmp_path / "second.png")
        assert png_size(saved.read_bytes()) == (128, 128)
        assert atelier.get_job(job.id).status == "succeeded"


def test_events_follow_a_job_to_its_end(platform, key):
    with Atelier(platform["base_url"], key) as atelier:
        job = atelier.submit("a harbour in fog", **SMALL)
        events = list(atelier.events(job.id, timeout=180))
    assert events[-1].type == "end" and events[-1].job.status == "succeeded"
    assert all(event.type in ("progress", "preview") for event in events[:-1])
    assert events[-1].job.id == job.id


def test_the_async_client_generates_and_follows(platform, key):
    async def scenario() -> tuple[bytes, list[str]]:
        async with AsyncAtelier(platform["base_url"], key) as atelier:
            job = await atelier.generate("a lighthouse, watercolour", timeout=180, **SMALL)
            kinds = [event.type async for event in atelier.events(job.id, timeout=30)]  # an ended job: its end at once
            return await atelier.download(job.images[0]), kinds

    data, kinds = asyncio.run(scenario())
    assert png_size(data) == (128, 128) and kinds == ["end"]


def test_a_resubmit_with_the_same_idempotency_key_returns_the_same_job(platform, key):
    with Atelier(platform["base_url"], key) as atelier:
        first = atelier.submit("a red kite", idempotency_key="order-1", **SMALL)
        again = atelier.submit("a red kite", idempotency_key="order-1", **SMALL)
        assert again.id == first.id
        assert atelier.wait(first.id, timeout=180).status == "succeeded"


def test_the_platforms_refusals_are_typed_errors(platform, key):
    with Atelier(platform["base_url"], key) as atelier:
        with pytest.raises(ValidationFailed) as bad_width:
            atelier.submit("x", width=300, height=128, steps=4)
        assert bad_width.value.status == 422 and "width" in bad_width.value.fields
        with pytest.raises(ValidationFailed) as over_tier:
            atelier.submit("x", width=1024, height=1024, steps=4)  # a free tier's images stop at 512
        assert over_tier.value.code == "exceeds_tier" and "width" in over_tier.value.fields
        with pytest.raises(NotFound):
            atelier.get_job("00000000-0000-4000-8000-000000000000")
    with Atelier(platform["base_url"], "atl_live_" + "x" * 40) as stranger, pytest.raises(Unauthorized):
        stranger.models()


def test_models_list_their_loras_and_an_unknown_one_is_refused(platform, key):
    with Atelier(platform["base_url"], key) as atelier:
        job = atelier.generate("a lighthouse", timeout=180, **SMALL)  # the worker has announced itself by now
        [model] = [model for model in atelier.models() if model.name == job.params["model"]]
        assert isinstance(model.loras, list)
        with pytest.raises(ValidationFailed) as unknown:
            atelier.submit("x", model=model.name, loras=[{"name": "no-such-lora", "weight": 0.5}], **SMALL)
        assert unknown.value.code == "lora_unknown" and "loras[0].name" in unknown.value.fields
        if model.loras:  # a platform started with ATELIER_LORA_DIR: one of its LoRAs applied
            job = atelier.generate("a lighthouse", model=model.name, loras=[{"name": model.loras[0], "weight": 0.5}],
                                   timeout=180, **SMALL)
            assert job.params["loras"] == [{"name": model.loras[0], "weight": 0.5}]
