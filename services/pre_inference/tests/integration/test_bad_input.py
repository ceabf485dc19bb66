"""Every bad request gets a clear 4xx in the one error shape; none reaches a 500."""
import time
import uuid

import jwt
import pytest

pytestmark = pytest.mark.integration

JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk"}


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field is not None:
        assert field in error["fields"], error


@pytest.mark.parametrize(
    "body,field",
    [
        ({**JOB, "width": "512"}, "width"),
        ({**JOB, "steps": 20.5}, "steps"),
        ({**JOB, "n": True}, "n"),
        ({**JOB, "prompt": ["a", "b"]}, "prompt"),
        ({**JOB, "prompt": "x" * 2001}, "prompt"),
        ({**JOB, "prompt": ""}, "prompt"),
        ({**JOB, "width": -512}, "width"),
        ({**JOB, "height": 513}, "height"),
        ({**JOB, "width": 8200}, "width"),
        ({**JOB, "steps": 0}, "steps"),
        ({**JOB, "steps": 1001}, "steps"),
        ({**JOB, "guidance": 31}, "guidance"),
        ({**JOB, "seed": -1}, "seed"),
        ({**JOB, "seed": 2**32}, "seed"),
        ({**JOB, "n": 65}, "n"),
        ({**JOB, "sampler": "euler"}, "sampler"),
        ({"prompt": "no kind"}, "kind"),
        ({"kind": "txt2img"}, "prompt"),
        ({**JOB, "kind": "video"}, "kind"),
        ([JOB], "body"),
        ("just a string", "body"),
    ],
)
async def test_invalid_bodies(client, make_token, body, field):
    response = await client.post("/api/v1/jobs", json=body, headers={"Authorization": f"Bearer {make_token()}"})
    assert_error(response, 422, "validation_error", field)


async def test_blank_prompt_after_trimming(client, make_token):
    response = await client.post("/api/v1/jobs", json={**JOB, "prompt": "   "}, headers={"Authorization": f"Bearer {make_token()}"})
    assert_error(response, 422, "validation_error", "prompt")


@pytest.mark.parametrize("raw", [
    b"{", b'{"kind": "txt2img",}', b"\xff\xfe", b"nul",
    # The platform's strict JSON (atelier_kit): any depth costs no stack; NaN, duplicates refused.
    b"[" * 100_000, b'{"a":' * 50_000, b'{"kind": "txt2img", "prompt": "x", "guidance": NaN}',
    b'{"kind": "txt2img", "prompt": "x", "prompt": "y"}',
])
async def test_malformed_json(client, make_token, raw):
    headers = {"Authorization": f"Bearer {make_token()}", "Content-Type": "application/json"}
    assert_error(await client.post("/api/v1/jobs", content=raw, headers=headers), 400, "invalid_json")


async def test_empty_body_and_wrong_media_type(client, make_token):
    headers = {"Authorization": f"Bearer {make_token()}"}
    empty = await client.post("/api/v1/jobs", headers={**headers, "Content-Type": "application/json"})
    assert_error(empty, 422, "validation_error", "body")
    form = await client.post("/api/v1/jobs", data={"prompt": "x"}, headers=headers)
    assert_error(form, 415, "unsupported_media_type")


async def test_huge_body_is_refused_before_parsing(client, make_token):
    body = b'{"kind": "txt2img", "prompt": "' + b"x" * 26_000_000 + b'"}'
    headers = {"Authorization": f"Bearer {make_token()}", "Content-Type": "application/json"}
    assert_error(await client.post("/api/v1/jobs", content=body, headers=headers), 413, "payload_too_large")


@pytest.mark.parametrize("key", ["k" * 129, "naïve".encode()])
async def test_bad_idempotency_key(client, make_token, key):
    headers = {"Authorization": f"Bearer {make_token()}", "Idempotency-Key": key}
    assert_error(await client.post("/api/v1/jobs", json=JOB, headers=headers), 422, "validation_error", "Idempotency-Key")


@pytest.mark.parametrize("method,path", [("POST", "/api/v1/jobs"), ("GET", "/api/v1/jobs"), ("GET", f"/api/v1/jobs/{uuid.uuid4()}")])
async def test_tokens(client, make_token, signing_keys, method, path):
    async def call(headers):
        return await client.request(method, path, json=JOB if method == "POST" else None, headers=headers)

    missing = await call({})
    assert_error(missing, 401, "not_authenticated")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_error(await call({"Authorization": "Basic dXNlcjpwdw=="}), 401, "not_authenticated")
    assert_error(await call({"Authorization": f"Bearer {make_token(expires_in=-60)}"}), 401, "token_expired")
    assert_error(await call({"Authorization": f"Bearer {make_token(key=signing_keys.other_private_key)}"}), 401, "token_invalid")
    assert_error(await call({"Authorization": f"Bearer {make_token(kid='unknown-kid')}"}), 401, "token_invalid")
    assert_error(await call({"Authorization": "Bearer not.a.jwt"}), 401, "token_invalid")
    assert_error(await call({"Authorization": f"Bearer {make_token(token_type='refresh')}"}), 401, "token_invalid")
    assert_error(await call({"Authorization": f"Bearer {make_token(sub='42')}"}), 401, "token_invalid")
    assert_error(await call({"Authorization": f"Bearer {make_token(aud='someone-else')}"}), 401, "token_invalid")
    hs256 = jwt.encode({"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60}, "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256", headers={"kid": "test-key-1"})
    assert_error(await call({"Authorization": f"Bearer {hs256}"}), 401, "token_invalid")


async def test_a_missing_token_wins_over_a_bad_body(client):
    assert_error(await client.post("/api/v1/jobs", json={"bogus": 1}), 401, "not_authenticated")


async def test_unknown_routes_and_methods(client, make_token):
    assert_error(await client.get("/api/v1/nothing-here"), 404, "not_found")
    response = await client.delete("/api/v1/jobs")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"]


async def test_health_and_docs(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}"} <= set(schema["paths"])
    assert (await client.get("/api/v1/docs")).status_code == 200
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "pre_inference_jobs_submitted_total" in metrics.text


async def test_readyz_reports_an_unreachable_database(settings, verifier):
    import httpx

    from app.main import create_app

    broken = settings.model_copy(update={"pre_inference_database_url": "postgresql://nobody:x@127.0.0.1:1/none"})
    app = create_app(broken, verifier=verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert_error(await client.get("/readyz"), 503, "not_ready")
    await app.state.engine.dispose()


async def test_huge_streamed_body_without_length_is_refused(client, make_token):
    async def chunks():
        yield b'{"kind": "txt2img", "prompt": "'
        for _ in range(27):
            yield b"x" * 1_000_000
        yield b'"}'

    headers = {"Authorization": f"Bearer {make_token()}", "Content-Type": "application/json"}
    assert_error(await client.post("/api/v1/jobs", content=chunks(), headers=headers), 413, "payload_too_large")
