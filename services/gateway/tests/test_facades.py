"""The compatible front doors' translations and error shapes, without any server: requests to
native jobs, native refusals to OpenAI's and AUTOMATIC1111's error bodies, form parsing, edit
masks; and (marked integration) A1111's per-key model switch through a real gateway and Redis.
(tests/e2e/test_facades.py drives them with the real client libraries.)"""
from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image

from app.errors import ApiError
from app.facades import a1111, checkpoints, openai
from app.facades.forms import image_data_url, parse_form
from app.facades.masks import native_mask
from app.facades.native import Native, _basic_secret, native_refusal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def body_of(response) -> dict:
    return json.loads(response.body)


# --- OpenAI ---------------------------------------------------------------------------------

def test_openai_rate_limit_is_its_429_with_retry_after():
    native = native_refusal(429, {"error": {"code": "rate_limited", "message": "slow down"}}, {"retry-after": "7"})
    response = openai.render(native)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert body_of(response) == {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}


def test_openai_spent_quota_is_insufficient_quota_and_not_retried():
    response = openai.render(ApiError(429, "quota_exceeded", "daily allowance spent", headers={"Retry-After": "3600"}))
    assert body_of(response)["error"]["code"] == "insufficient_quota"
    assert response.headers["x-should-retry"] == "false"


def test_openai_tier_refusal_names_size_as_a_400():
    native = native_refusal(422, {"error": {"code": "exceeds_tier", "message": "width over 512", "fields": {"width": ["max 512"]}}}, {})
    response = openai.render(native)
    assert response.status_code == 400
    assert body_of(response)["error"] == {"message": "width over 512", "type": "invalid_request_error", "param": "size", "code": "exceeds_tier"}


@pytest.mark.parametrize("code", ["api_key_invalid", "not_authenticated", "api_key_revoked"])
def test_openai_bad_keys_are_invalid_api_key(code):
    response = openai.render(ApiError(401, code, "no"))
    assert response.status_code == 401
    assert body_of(response)["error"]["code"] == "invalid_api_key"


def test_a_native_answer_without_the_platform_body_becomes_upstream_error():
    assert native_refusal(500, None, {}).code == "upstream_error"
    assert native_refusal(404, {"detail": "x"}, {}).status == 502


@pytest.mark.parametrize("size, expected", [(None, {}), ("auto", {}), ("256x256", {"width": 256, "height": 256}),
                                            ("1792x1024", {"width": 1792, "height": 1024})])
def test_openai_sizes(size, expected):
    assert openai.size_of(size) == expected


@pytest.mark.parametrize("size", ["300x300", "512", "512X512", ""])
def test_openai_refuses_other_sizes(size):
    with pytest.raises(ApiError) as refused:
        openai.size_of(size)
    assert refused.value.fields == {"size": ["unknown size"]}


def png(size=(8, 4), mode="RGBA", color=(0, 0, 0, 255), format="PNG", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=format, **save)
    return out.getvalue()


def decoded_mask(data_url: str) -> Image.Image:
    assert data_url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


def test_openai_mask_transparency_becomes_the_native_white_repaint_area():
    mask = Image.new("RGBA", (8, 4), (0, 0, 0, 255))
    for x in range(4):
        mask.putpixel((x, 1), (255, 255, 255, 0))  # fully transparent, whatever its colour: edit here
    mask.putpixel((5, 2), (0, 0, 0, 1))  # almost transparent: kept, as OpenAI keeps it
    out = io.BytesIO()
    mask.save(out, format="PNG")
    native = decoded_mask(native_mask(png(mode="RGB", color=(9, 9, 9)), out.getvalue()))
    assert native.mode == "L" and native.size == (8, 4)
    assert [native.getpixel((x, 1)) for x in range(8)] == [255] * 4 + [0] * 4
    assert native.getpixel((5, 2)) == 0 and native.getpixel((0, 0)) == 0


def test_openai_mask_may_be_a_palette_png_with_transparency():
    palette = Image.new("P", (8, 4), 0)
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.putpixel((0, 0), 1)
    out = io.BytesIO()
    palette.save(out, format="PNG", transparency=1)
    native = decoded_mask(native_mask(png(), out.getvalue()))
    assert native.getpixel((0, 0)) == 255 and native.getpixel((1, 0)) == 0


@pytest.mark.parametrize("mask, code", [
    (png(size=(4, 8)), "mask_size_mismatch"),
    (png(mode="RGB", color=(0, 0, 0)), "invalid_mask"),  # no alpha channel
    (png(mode="RGB", color=(0, 0, 0), format="JPEG"), "invalid_mask"),
    (b"\x89PNG\r\n\x1a\nbroken", "invalid_mask"),
    (png(size=(8, 4), color=(1, 2, 3, 0))[:-30], "invalid_mask"),  # truncated inside its pixels
    (png(size=(8, 4), color=(1, 2, 3, 0))[:40], "invalid_mask"),  # truncated inside its header chunk
])
def test_openai_refuses_masks_it_would_refuse_naming_mask(mask, code):
    with pytest.raises(ApiError) as refused:
        native_mask(png(), mask)
    response = openai.render(refused.value)
    assert response.status_code == 400
    assert body_of(response)["error"]["type"] == "invalid_request_error"
    assert (body_of(response)["error"]["param"], body_of(response)["error"]["code"]) == ("mask", code)


# --- AUTOMATIC1111 ---------------------------------------------------------------------------

def test_a1111_maps_its_fields_to_a_native_job():
    body = a1111.Txt2ImgRequest(prompt="a cat", negative_prompt="dog", steps=12, cfg_scale=5, width=384, height=256,
                                sampler_name="Euler a", batch_size=2, n_iter=3, seed=-1, restore_faces=False)
    job = a1111.native_job(body, "default")
    assert job == {"kind": "txt2img", "prompt": "a cat", "negative_prompt": "dog", "width": 384, "height": 256, "steps": 12,
                   "guidance": 5.0, "scheduler": "euler_a", "n": 6, "model": "default"}
    assert "model" not in a1111.native_job(body, None)  # no checkpoint asked for: the native default
    assert "steps" not in a1111.native_job(a1111.Txt2ImgRequest(prompt="x"), "default")  # the platform's default
    assert a1111.native_job(body.model_copy(update={"seed": 42}), "default")["seed"] == 42


@pytest.mark.parametrize("sampler, scheduler", [("Euler", "euler"), ("k_euler_a", "euler_a"), ("DDIM", "ddim"), ("DPM++ 2M", "dpm++")])
def test_a1111_samplers(sampler, scheduler):
    assert a1111.scheduler_of(a1111.Txt2ImgRequest(sampler_name=sampler)) == scheduler


def test_a1111_unknown_sampler_is_its_404():
    with pytest.raises(ApiError) as refused:
        a1111.scheduler_of(a1111.Txt2ImgRequest(sampler_name="Heun++ Exotic"))
    response = a1111.render(refused.value)
    assert response.status_code == 404
    assert body_of(response) == {"error": "HTTPException", "detail": "Sampler not found", "body": "",
                                 "errors": "404: Sampler not found", "code": "sampler_not_found"}


@pytest.mark.parametrize("image", [base64.b64encode(PNG).decode(), "data:image/png;base64," + base64.b64encode(PNG).decode()])
def test_a1111_img2img_takes_raw_base64_or_data_urls(image):
    body = a1111.Img2ImgRequest(prompt="x", init_images=[image], denoising_strength=0.4)
    job = a1111.native_job(body, "default")
    assert job["kind"] == "img2img" and job["strength"] == 0.4
    assert job["init_image"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    inpaint = a1111.native_job(body.model_copy(update={"mask": image}), "default")
    assert inpaint["kind"] == "inpaint" and inpaint["mask"].startswith("data:image/png;base64,")


def test_a1111_refuses_what_it_cannot_do():
    for body in (a1111.Txt2ImgRequest(enable_hr=True), a1111.Txt2ImgRequest(script_name="x/y plot"),
                 a1111.Img2ImgRequest(init_images=["x"], mask="x", inpainting_mask_invert=1)):
        with pytest.raises(ApiError) as refused:
            a1111.refuse_unsupported(body)
        assert refused.value.status == 422
    with pytest.raises(ApiError):
        a1111.native_job(a1111.Img2ImgRequest(prompt="x"), "default")  # no init image
    with pytest.raises(ApiError):
        a1111.native_job(a1111.Img2ImgRequest(prompt="x", init_images=["not base64!"]), "default")


def test_a1111_validation_errors_are_fastapis_detail_list():
    response = a1111.render(ApiError(422, "validation_error", "bad", fields={"guidance": ["too high"]}))
    assert body_of(response) == {"detail": [{"loc": ["body", "cfg_scale"], "msg": "too high", "type": "validation_error"}]}


def test_a1111_unauthenticated_asks_for_basic_auth():
    for error in (ApiError(401, "not_authenticated", "log in"),
                  ApiError(401, "api_key_invalid", "no", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})):
        assert a1111.render(error).headers["www-authenticate"] == "Basic"


def test_a1111_info_is_json_text_with_the_seeds():
    body = a1111.Txt2ImgRequest(prompt="a cat", batch_size=2)
    job = {"id": "j", "created_at": "2026-01-02T03:04:05+00:00",
           "params": {"kind": "txt2img", "width": 512, "height": 512, "steps": 20, "guidance": 7.0, "model": "default", "seed": 5},
           "images": [{"seed": 5}, {"seed": 6}]}
    info = json.loads(a1111.info_text(body, job, "Euler a"))
    assert (info["seed"], info["all_seeds"], info["job_timestamp"]) == (5, [5, 6], "20260102030405")
    assert info["all_prompts"] == ["a cat", "a cat"] and len(info["infotexts"]) == 2


def test_a1111_model_from_override_settings():
    assert a1111.model_requested(a1111.Txt2ImgRequest(override_settings={"sd_model_checkpoint": "tiny [abc123]"})) == "tiny"
    assert a1111.model_requested(a1111.Txt2ImgRequest()) is None
    assert a1111.checkpoint_model("  ") is None and a1111.checkpoint_model(3) is None


def test_a1111_a_body_that_is_no_object_is_fastapis_422():
    response = a1111.render(ApiError(422, "validation_error", "not an object", fields={"body": ["not an object"]}))
    assert body_of(response) == {"detail": [{"loc": ["body"], "msg": "not an object", "type": "validation_error"}]}


# --- shared ------------------------------------------------------------------------------------

def test_basic_auth_password_is_the_key():
    header = "Basic " + base64.b64encode(b"anyone:atl_live_secret").decode()
    assert _basic_secret(header) == "atl_live_secret"
    assert _basic_secret("Bearer x") is None
    with pytest.raises(ApiError):
        _basic_secret("Basic !!!")
    with pytest.raises(ApiError):
        _basic_secret("Basic " + base64.b64encode(b"user-only").decode())


def test_forms_are_read_with_their_files():
    body = (b"--B\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
            + PNG + b"\r\n--B--\r\n")
    prompt, image = parse_form("multipart/form-data; boundary=B", body)
    assert (prompt.name, prompt.text()) == ("prompt", "a cat")
    assert (image.name, image.filename, image.data) == ("image", "a.png", PNG)
    with pytest.raises(ApiError):
        parse_form("application/json", body)


def test_uploads_are_typed_by_their_bytes():
    assert image_data_url(PNG, "image").startswith("data:image/png;base64,")
    assert image_data_url(b"\xff\xd8\xff\xe0rest", "image").startswith("data:image/jpeg;base64,")
    with pytest.raises(ApiError):
        image_data_url(b"GIF89a", "image")


# --- through the app (no upstream needed) -----------------------------------------------------

@pytest.fixture(scope="module")
def app_client():
    from app.main import create_app

    return TestClient(create_app())  # lifespan not entered: only routes that refuse before any upstream call


def test_unknown_paths_answer_in_each_originals_shape(app_client):
    response = app_client.post("/v1/completions", json={})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert app_client.get("/v1/images/generations").status_code == 404  # not the single-page app
    assert app_client.get("/sdapi/v1/nope").json() == {"detail": "Not Found"}


def test_every_facade_route_needs_credentials(app_client):
    for method, path in (("POST", "/sdapi/v1/interrupt"), ("GET", "/sdapi/v1/progress"), ("GET", "/sdapi/v1/sd-models")):
        response = app_client.request(method, path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Basic", path
        assert response.json()["code"] == "not_authenticated"
    response = app_client.get("/v1/models")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_a1111_options_take_a_json_object_only(app_client):
    for body, kind in ((b"[1]", "validation_error"), (b'"default"', "validation_error"), (b"{nope", "json_invalid")):
        response = app_client.post("/sdapi/v1/options", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, body
        [detail] = response.json()["detail"]
        assert (detail["loc"], detail["type"]) == (["body"], kind)
    response = app_client.post("/sdapi/v1/options", json={"sd_model_checkpoint": 5})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "sd_model_checkpoint"]
    response = app_client.post("/sdapi/v1/options", json={"sd_model_checkpoint": "default"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Basic"


def test_openai_edit_refuses_two_masks_before_anything_else(app_client):
    files = [("image", ("a.png", png(), "image/png")), ("mask", ("m.png", png(), "image/png")),
             ("mask", ("n.png", png(), "image/png"))]
    response = app_client.post("/v1/images/edits", data={"prompt": "x"}, files=files)
    assert response.status_code == 400
    assert (response.json()["error"]["param"], response.json()["error"]["code"]) == ("mask", "invalid_mask")


def test_bad_bodies_are_refused_in_each_originals_shape(app_client):
    response = app_client.post("/v1/images/generations", json={"prompt": "x", "size": "300x300"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "size"
    response = app_client.post("/v1/images/generations", json={"prompt": "x", "colour": "red"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "colour"
    response = app_client.post("/v1/images/generations", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = app_client.post("/sdapi/v1/txt2img", json={"steps": "many"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "steps"]


def test_the_facades_are_described_in_openapi():
    from app.main import create_app
    from app.openapi import merge, own_document

    merged = merge({"gateway": own_document(create_app().routes)}, [])
    for path in ("/v1/images/generations", "/v1/images/edits", "/v1/models", "/sdapi/v1/txt2img", "/sdapi/v1/img2img",
                 "/sdapi/v1/progress", "/sdapi/v1/interrupt", "/sdapi/v1/sd-models", "/sdapi/v1/samplers", "/sdapi/v1/options"):
        assert path in merged["paths"], path
    assert "gateway_ImagesResponse" in merged["components"]["schemas"]
    assert not [p for p in merged["paths"] if "{rest" in p]


# --- the bounded wait ----------------------------------------------------------------------------

def _native_with(jobs: dict[str, list[str]], wait_s: float):
    """A Native whose job reads walk through the given statuses; cancels are recorded."""
    from types import SimpleNamespace

    from app.facades.native import Native

    settings = SimpleNamespace(gateway_facade_wait_s=wait_s)
    native = Native(SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=settings))), caller=None)
    native.canceled = []

    async def job(job_id):
        statuses = jobs[job_id]
        return {"id": job_id, "status": statuses.pop(0) if len(statuses) > 1 else statuses[0]}

    async def cancel(job_id):
        native.canceled.append(job_id)
        return True
    native.job, native.cancel = job, cancel
    return native


async def test_the_wait_returns_every_job_as_it_ended():
    native = _native_with({"a": ["queued", "running", "succeeded"], "b": ["failed"]}, wait_s=10)
    assert [job["status"] for job in await native.wait(["a", "b"])] == ["succeeded", "failed"]
    assert native.canceled == []


async def test_past_the_bound_the_job_is_canceled_and_the_wait_says_so():
    from app.facades.native import WaitTimeout

    native = _native_with({"a": ["running"]}, wait_s=0.5)
    with pytest.raises(WaitTimeout):
        await native.wait(["a"])
    assert native.canceled == ["a"]


# --- A1111's model switch through a real gateway and Redis (the stub plays auth) -----------------

@pytest.fixture
def served_models(monkeypatch):
    """The catalogue and the job API as the facades see them: jobs submitted are recorded and end
    at once (the stub upstream plays auth only)."""
    submitted: list[dict] = []

    async def model_names(self):
        return ["default", "tiny-sd", "tiny-sdxl"]

    async def submit(self, job, idempotency_key=None):
        submitted.append(job)
        return {"id": f"job-{len(submitted)}"}

    async def wait(self, job_ids):
        job = submitted[-1]
        return [{"id": job_ids[0], "status": "succeeded", "images": [], "created_at": "2026-12-01T10:00:00+00:00",
                 "params": {**job, "model": job.get("model", "default"), "steps": 4}}]
    monkeypatch.setattr(Native, "model_names", model_names)
    monkeypatch.setattr(Native, "submit", submit)
    monkeypatch.setattr(Native, "wait", wait)
    return submitted


@pytest.mark.integration
def test_a1111_options_switch_the_model_for_that_key_alone(gateway, upstream, provisioned, served_models):
    key, key_id = upstream.issue_key()
    other, _ = upstream.issue_key()
    with httpx.Client(base_url=gateway.base_url, timeout=10, trust_env=False) as client:
        assert client.get("/sdapi/v1/options", auth=("u", key)).json()["sd_model_checkpoint"] == "default"
        options = {"sd_model_checkpoint": "tiny-sd [0123abcd]", "samples_format": "jpg", "CLIP_stop_at_last_layers": 2}
        response = client.post("/sdapi/v1/options", auth=("u", key), json=options)
        assert response.status_code == 200 and response.json() is None  # A1111 answers null
        assert client.get("/sdapi/v1/options", auth=("u", key)).json()["sd_model_checkpoint"] == "tiny-sd"
        assert client.get("/sdapi/v1/options", auth=("u", other)).json()["sd_model_checkpoint"] == "default"

        assert client.post("/sdapi/v1/txt2img", auth=("u", key), json={"prompt": "a"}).status_code == 200
        client.post("/sdapi/v1/txt2img", auth=("u", key),
                    json={"prompt": "b", "override_settings": {"sd_model_checkpoint": "tiny-sdxl"}})
        client.post("/sdapi/v1/txt2img", auth=("u", other), json={"prompt": "c"})
        assert [job.get("model") for job in served_models] == ["tiny-sd", "tiny-sdxl", None]

        unknown = client.post("/sdapi/v1/options", auth=("u", key), json={"sd_model_checkpoint": "nope"})
        assert unknown.status_code == 404
        assert unknown.json() == {"error": "HTTPException", "detail": "model 'nope' not found", "body": "",
                                  "errors": "404: model 'nope' not found", "code": "model_not_found"}
        assert client.get("/sdapi/v1/options", auth=("u", key)).json()["sd_model_checkpoint"] == "tiny-sd"  # unchanged
    stored = redis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
    try:
        name = f"{provisioned['ATELIER_REDIS_PREFIX']}a1111-checkpoint:key:{key_id}"
        assert stored.get(name) == b"tiny-sd"
        assert checkpoints.CHECKPOINT_TTL_S - 60 < stored.ttl(name) <= checkpoints.CHECKPOINT_TTL_S
    finally:
        stored.close()


@pytest.mark.integration
def test_openai_edit_with_a_mask_is_an_inpaint_job(gateway, upstream, served_models):
    key, _ = upstream.issue_key()
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 64))  # the left half is edited
    out = io.BytesIO()
    mask.save(out, format="PNG")
    files = [("image", ("a.png", png(size=(64, 64), mode="RGB", color=(200, 40, 40)), "image/png")),
             ("mask", ("m.png", out.getvalue(), "image/png"))]
    with httpx.Client(base_url=gateway.base_url, timeout=10, trust_env=False) as client:
        response = client.post("/v1/images/edits", data={"prompt": "x"}, files=files, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        [job] = served_models
        assert (job["kind"], job["strength"]) == ("inpaint", 1.0)
        native = decoded_mask(job["mask"])
        assert (native.getpixel((0, 0)), native.getpixel((63, 63))) == (255, 0)

        files[1] = ("mask", ("m.png", png(size=(32, 32)), "image/png"))
        response = client.post("/v1/images/edits", data={"prompt": "x"}, files=files, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 400 and response.json()["error"]["param"] == "mask"
        assert len(served_models) == 1


@pytest.mark.integration
def test_a1111_without_the_checkpoint_store_the_answer_is_a_503_not_the_wrong_model(gateway, upstream, swap_state, served_models):
    class Away:
        async def getex(self, *args, **kwargs):
            raise redis.ConnectionError("down")

        async def get(self, *args, **kwargs):  # the API key cache, the revocation checks: they fail open
            raise redis.ConnectionError("down")

        async def set(self, *args, **kwargs):
            raise redis.ConnectionError("down")

    key, _ = upstream.issue_key()
    swap_state("redis", Away())
    with httpx.Client(base_url=gateway.base_url, timeout=10, trust_env=False) as client:
        response = client.post("/sdapi/v1/txt2img", auth=("u", key), json={"prompt": "a"})
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["code"] == "settings_unavailable" and served_models == []
        response = client.post("/sdapi/v1/txt2img", auth=("u", key),
                               json={"prompt": "a", "override_settings": {"sd_model_checkpoint": "tiny-sd"}})
        assert response.status_code == 200 and served_models[0]["model"] == "tiny-sd"  # no stored choice needed
