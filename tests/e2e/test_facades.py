"""The compatible front doors driven by the real client libraries, unmodified: `openai`
(OpenAI's Images API at /v1) and `webuiapi` (AUTOMATIC1111's API at /sdapi/v1), each with an
API key made as a partner makes one, against the whole platform."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import openai
import pytest
import webuiapi
from PIL import Image

from .flows import eventually, verified_user

pytestmark = pytest.mark.e2e
# Keeps the CPU model busy for a while (a free user may ask for it).
LONG_JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 512, "height": 512, "steps": 30, "n": 2}


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=60) as c:
        yield c


def new_key(client, platform) -> str:
    """A fresh verified user's API key: free tier allows one job at a time, so each test has its own."""
    person = verified_user(client, Path(platform["env"]["ATELIER_MAIL_DIR"]), prefix="facade")
    response = client.post("/api/auth/api-keys", json={"name": "facade"}, headers=person["headers"])
    assert response.status_code == 201, response.text
    return response.json()["secret"]


@pytest.fixture
def key(client, platform) -> str:
    return new_key(client, platform)


def openai_client(platform, key: str) -> openai.OpenAI:
    # No retries: a test must see the first answer (the client would otherwise wait out a 429).
    return openai.OpenAI(api_key=key, base_url=platform["base_url"] + "/v1", max_retries=0, timeout=180)


def a1111_client(platform, key: str) -> webuiapi.WebUIApi:
    # A1111's --api-auth is basic auth: any user name, the API key as the password.
    return webuiapi.WebUIApi(baseurl=platform["base_url"] + "/sdapi/v1", username="partner", password=key)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data)).size


def start_long_job(client, key: str) -> str:
    response = client.post("/api/v1/jobs", json=LONG_JOB, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def ended(client, key: str, job_id: str) -> dict:
    def probe():
        job = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}).json()
        return job if job["status"] in ("succeeded", "failed", "canceled") else None
    return eventually(probe, f"job {job_id} ending", timeout=180)


# --- OpenAI -----------------------------------------------------------------------------------

def test_openai_generates_base64_images_of_the_asked_size(platform, key):
    result = openai_client(platform, key).images.generate(prompt="a lighthouse", size="256x256", n=2,
                                                          response_format="b64_json")
    assert len(result.data) == 2 and result.created > 0
    for image in result.data:
        assert png_size(base64.b64decode(image.b64_json)) == (256, 256)


def test_openai_url_format_gives_absolute_signed_links(platform, key, client):
    result = openai_client(platform, key).images.generate(prompt="a lighthouse", size="256x256", response_format="url",
                                                          model="default")
    [image] = result.data
    assert image.url.startswith(platform["env"]["ATELIER_PUBLIC_URL"] + "/files/") and "sig=" in image.url
    fetched = client.get("/files/" + image.url.split("/files/", 1)[1])  # the same gateway, by its test address
    assert fetched.status_code == 200 and png_size(fetched.content) == (256, 256)


def test_openai_edit_repaints_an_uploaded_image(platform, key):
    picture = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(picture, format="PNG")
    result = openai_client(platform, key).images.edit(image=("red.png", picture.getvalue(), "image/png"),
                                                      prompt="a red lighthouse", size="256x256", response_format="b64_json")
    [image] = result.data
    assert png_size(base64.b64decode(image.b64_json)) == (256, 256)


def test_openai_edit_with_a_mask_repaints_its_transparent_area(platform, key):
    picture, mask = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(picture, format="PNG")
    transparent_left = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    transparent_left.paste((0, 0, 0, 0), (0, 0, 128, 256))
    transparent_left.save(mask, format="PNG")
    api = openai_client(platform, key)
    result = api.images.edit(image=("red.png", picture.getvalue(), "image/png"), mask=("mask.png", mask.getvalue(), "image/png"),
                             prompt="a lighthouse on the left", size="256x256", response_format="b64_json")
    [image] = result.data
    assert png_size(base64.b64decode(image.b64_json)) == (256, 256)
    small = io.BytesIO()
    Image.new("RGBA", (128, 128), (0, 0, 0, 0)).save(small, format="PNG")
    with pytest.raises(openai.BadRequestError) as mismatched:
        api.images.edit(image=("red.png", picture.getvalue(), "image/png"), mask=("mask.png", small.getvalue(), "image/png"),
                        prompt="x", size="256x256")
    assert mismatched.value.param == "mask" and mismatched.value.type == "invalid_request_error"


def test_openai_lists_the_platforms_models(platform, key):
    models = openai_client(platform, key).models.list()
    assert "default" in [model.id for model in models.data]


def test_openai_errors_are_its_error_classes(platform, key, client):
    api = openai_client(platform, key)
    with pytest.raises(openai.BadRequestError) as bad_size:
        api.images.generate(prompt="x", size="300x300")
    assert bad_size.value.param == "size" and bad_size.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as over_tier:
        api.images.generate(prompt="x", size="1024x1024")  # a free tier's images stop at 512
    assert over_tier.value.param == "size" and over_tier.value.code == "exceeds_tier"
    with pytest.raises(openai.AuthenticationError) as bad_key:
        openai_client(platform, "atl_live_" + "x" * 40).images.generate(prompt="x")
    assert bad_key.value.code == "invalid_api_key"

    # Free accounts run one job at a time: while one runs, the facade's submit is refused as the native one is.
    job_id = start_long_job(client, key)
    try:
        with pytest.raises(openai.RateLimitError) as limited:
            api.images.generate(prompt="x", size="256x256")
        assert limited.value.code == "rate_limit_exceeded"
        assert int(limited.value.response.headers["retry-after"]) >= 1
    finally:
        client.delete(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"})


# --- AUTOMATIC1111 ------------------------------------------------------------------------------

def test_a1111_txt2img_answers_with_images_parameters_and_info(platform, key):
    result = a1111_client(platform, key).txt2img(prompt="a lighthouse", negative_prompt="fog", width=128, height=128,
                                                 steps=4, seed=7, sampler_name="Euler a", batch_size=2, cfg_scale=6)
    assert [image.size for image in result.images] == [(128, 128), (128, 128)]
    assert result.info["seed"] == 7 and len(result.info["all_seeds"]) == 2
    assert result.info["prompt"] == "a lighthouse" and result.info["sampler_name"] == "Euler a"
    assert result.parameters["prompt"] == "a lighthouse" and result.parameters["steps"] == 4


def test_a1111_img2img_starts_from_the_given_image(platform, key):
    init = Image.new("RGB", (128, 128), (20, 120, 200))
    result = a1111_client(platform, key).img2img(images=[init], prompt="a blue lighthouse", width=128, height=128,
                                                 steps=4, denoising_strength=0.5)
    [image] = result.images
    assert image.size == (128, 128)
    assert result.parameters["init_images"] is None and result.parameters["denoising_strength"] == 0.5


def test_a1111_models_samplers_and_options(platform, key):
    api = a1111_client(platform, key)
    titles = [model["title"] for model in api.get_sd_models()]
    assert "default" in titles
    assert "Euler a" in [sampler["name"] for sampler in api.get_samplers()]
    assert api.get_options()["sd_model_checkpoint"] in titles


def test_a1111_set_model_is_kept_for_the_key_and_used_by_txt2img(platform, key):
    api = a1111_client(platform, key)
    api.util_set_model("default")  # finds it in /sd-models, then POSTs it to /options
    assert api.util_get_current_model() == "default"
    result = api.txt2img(prompt="a lighthouse", width=128, height=128, steps=2)
    assert result.info["sd_model_name"] == "default"
    refused = api.set_options({"sd_model_checkpoint": "no-such-model"})  # webuiapi hands back the error body
    assert refused["code"] == "model_not_found" and "no-such-model" in refused["detail"]
    assert api.get_options()["sd_model_checkpoint"] == "default"


def test_a1111_progress_and_interrupt_act_on_the_callers_jobs(platform, key, client):
    api = a1111_client(platform, key)
    assert api.get_progress()["state"]["job_count"] == 0
    job_id = start_long_job(client, key)
    progress = api.get_progress()
    assert progress["state"]["job_count"] == 1 and 0 <= progress["progress"] <= 1
    assert api.interrupt() == {}
    assert ended(client, key, job_id)["status"] == "canceled"


def test_a1111_errors_are_its_shapes(platform, key, client):
    with pytest.raises(RuntimeError) as unknown_sampler:
        a1111_client(platform, key).txt2img(prompt="x", width=128, height=128, steps=2, sampler_name="Nope")
    status, text = unknown_sampler.value.args
    assert status == 404 and "Sampler not found" in text
    response = client.post("/sdapi/v1/txt2img", json={"prompt": "x"}, auth=("partner", "atl_live_" + "y" * 40))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Basic"
    assert set(response.json()) >= {"error", "detail", "body", "errors"}
    response = client.post("/sdapi/v1/txt2img", json={"prompt": "x", "width": 4096}, auth=("partner", key))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "width"]
