"""Finding 6: a NUL byte in a prompt answered 500. Every text a request carries (body fields,
headers, query values, cursors) refuses control characters and lone surrogates with a 4xx
naming what was wrong, and the service keeps serving the next request."""
import base64
import io
import json
import uuid

import pytest
from PIL import Image, PngImagePlugin

pytestmark = pytest.mark.integration

JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 1}
BAD_TEXT = ["nul\x00byte", "bell\x07", "escape\x1b[31m", "del\x7f", "c1\x85", "surrogate\ud800", "low\udc00"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def raw_json(body) -> bytes:
    # json.dumps writes a lone surrogate as its \\ud800 escape, which JSON allows and
    # Python's parser turns back into an unencodable str: the case that reached Postgres.
    return json.dumps(body).encode()


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    if field is not None:
        assert field in error.get("fields", {}), error
    return error


@pytest.mark.parametrize("field", ["prompt", "negative_prompt", "scheduler", "model", "init_image", "mask"])
@pytest.mark.parametrize("text", BAD_TEXT, ids=range(len(BAD_TEXT)))
async def test_control_characters_in_body_text_are_a_422_naming_the_field(client, make_token, field, text):
    body = {**JOB, "kind": "inpaint", "init_image": str(uuid.uuid4()), "mask": str(uuid.uuid4()), field: text}
    headers = {**auth(make_token()), "Content-Type": "application/json"}
    response = await client.post("/api/v1/jobs", content=raw_json(body), headers=headers)
    assert_error(response, 422, "validation_error", field)


@pytest.mark.parametrize("text", ["two\nlines", "tab\tstop", "crlf\r\nend", "ünïcödé ✓ 灯台"])
async def test_prompts_keep_tabs_newlines_and_printable_unicode(client, make_token, text):
    response = await client.post("/api/v1/jobs", json={**JOB, "prompt": text, "negative_prompt": text}, headers=auth(make_token()))
    assert response.status_code == 202, response.text
    assert response.json()["params"]["prompt"] == text


@pytest.mark.parametrize("text", ["two\nlines", "tab\tstop"])
async def test_one_line_fields_refuse_even_tabs_and_newlines(client, make_token, text):
    response = await client.post("/api/v1/jobs", json={**JOB, "scheduler": text}, headers=auth(make_token()))
    assert_error(response, 422, "validation_error", "scheduler")


async def test_the_service_keeps_serving_after_a_nul(client, make_token):
    token = make_token()
    for _ in range(3):
        assert_error(await client.post("/api/v1/jobs", json={**JOB, "prompt": "a\x00b"}, headers=auth(token)), 422, "validation_error", "prompt")
        assert (await client.get("/api/v1/jobs", headers=auth(token))).status_code == 200


@pytest.mark.parametrize("value", [b"key\x00with-nul", b"key\x1b", b"key\x7f", "cl\u00e9".encode(), b"\xff\xfe"])
async def test_idempotency_key_with_unreadable_bytes(client, make_token, value):
    headers = {**auth(make_token()), "Idempotency-Key": value}
    assert_error(await client.post("/api/v1/jobs", json=JOB, headers=headers), 422, "validation_error", "Idempotency-Key")


@pytest.mark.parametrize("value", [b"req\x00id", b"\xff\xfe\x01", b"r" * 500])
async def test_a_request_id_it_cannot_use_is_replaced(client, make_token, db, value):
    from sqlalchemy import text

    response = await client.post("/api/v1/jobs", json=JOB, headers={**auth(make_token()), "X-Request-ID": value})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    correlation = db.execute(
        text("SELECT DISTINCT body::jsonb ->> 'correlation_id' FROM outbox WHERE body::jsonb -> 'data' ->> 'job_id' = :id"), {"id": job_id},
    ).scalars().all()
    assert correlation == [job_id]


@pytest.mark.parametrize("query", [
    "cursor=%00", "cursor=%ff%fe", "cursor=" + "A" * 5000, "cursor=%C3%A9", "cursor=%ED%A0%80", "limit=%00",
    "limit=1e309", "limit=-1", "limit=99999999999999999999999",
    # Well-formed base64 of text this API never gave out: NUL, a lone surrogate's bytes, a
    # time Postgres cannot hold once moved to UTC, a time without a zone.
    "cursor=" + base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00\x00|" + str(uuid.uuid4()).encode()).decode(),
    "cursor=" + base64.urlsafe_b64encode(b"\xed\xa0\x80|x").decode(),
    "cursor=" + base64.urlsafe_b64encode(f"9999-12-31T23:59:59-23:59|{uuid.uuid4()}".encode()).decode(),
    "cursor=" + base64.urlsafe_b64encode(f"0001-01-01T00:00:00+23:59|{uuid.uuid4()}".encode()).decode(),
    "cursor=" + base64.urlsafe_b64encode(f"2026-01-01T00:00:00|{uuid.uuid4()}".encode()).decode(),
])
@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/images"])
async def test_unreadable_query_values_are_a_4xx(client, make_token, path, query):
    response = await client.get(f"{path}?{query}", headers=auth(make_token()))
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("token", ["%00", "abc%00def", "%ff%fe", "%ED%A0%80"])
async def test_unreadable_access_token_in_the_query_is_a_401(client, token):
    response = await client.get(f"/api/v1/jobs/{uuid.uuid4()}/events?access_token={token}")
    assert_error(response, 401, "token_invalid")


@pytest.mark.parametrize("value", [b"Bearer \xff\xfe", "Bearer \u00e9t\u00e9".encode(), b"Bearer a\x00b"])
async def test_unreadable_authorization_is_a_401(client, value):
    response = await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": value})
    assert 400 <= response.status_code < 500 and response.json()["error"]["code"] in ("token_invalid", "not_authenticated")


def _png_with_text(text: str) -> str:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(out, format="PNG", pnginfo=info)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def test_upload_metadata_with_control_characters_is_not_kept(client, make_token, settings):
    """The PNG's own text chunks never reach storage: the upload is re-encoded without them."""
    image = _png_with_text("nul\x00 and escape\x1b[31m")
    body = {**JOB, "kind": "img2img", "init_image": image, "steps": 2}  # at 1 step no step of img2img would run
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert response.status_code == 202, response.text
    key = response.json()["params"]["init_image_key"]
    from pathlib import Path

    with Image.open(Path(settings.atelier_storage_dir) / key) as stored:
        assert "Comment" not in stored.info and not getattr(stored, "text", {})


@pytest.mark.parametrize("media_type", ["image/png\x00", "image/png;x=\x1b"])
async def test_upload_media_type_with_control_characters_is_a_422(client, make_token, media_type):
    body = {**JOB, "kind": "img2img", "init_image": f"data:{media_type};base64,AAAA"}
    response = await client.post("/api/v1/jobs", content=raw_json(body), headers={**auth(make_token()), "Content-Type": "application/json"})
    assert_error(response, 422, "validation_error", "init_image")
