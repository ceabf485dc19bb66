"""Unit: the FastAPI face, on a small app driven in process."""
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, ValidationError

from atelier_kit import guard
from atelier_kit.fastapi import ApiError, AtelierSettings, StrictJsonRoute, install_error_handlers
from atelier_kit.strict_json import JsonLimits


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = 1


def _app() -> FastAPI:
    app = FastAPI()
    app.state.json_limits = JsonLimits(max_bytes=4096)
    router = APIRouter(route_class=StrictJsonRoute)

    @router.post("/orders")
    async def order(body: Order) -> dict:
        return body.model_dump()

    @router.get("/refused")
    async def refused() -> dict:
        raise ApiError(409, "already_there", "it exists", extra={"retry_after": 3}, headers={"Retry-After": "3"})

    @router.get("/teapot")
    async def teapot() -> dict:
        raise HTTPException(404)

    @router.get("/bug")
    async def bug() -> dict:
        raise RuntimeError("secret detail")

    app.include_router(router)
    install_error_handlers(app)
    return app


@pytest.fixture(scope="module")
def client():
    return TestClient(_app(), raise_server_exceptions=False)


def test_a_good_body_passes(client):
    assert client.post("/orders", json={"name": "a"}).json() == {"name": "a", "count": 1}


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"name": NaN}', b'{"name": "a", "name": "b"}', b"{"])
def test_malformed_bodies_are_400_invalid_json(client, raw):
    response = client.post("/orders", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_an_oversized_body_is_413(client):
    response = client.post("/orders", json={"name": "a" * 5000})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_validation_errors_are_422_with_fields(client):
    response = client.post("/orders", json={"count": "x", "colour": "red"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"name", "count", "colour"} and error["fields"]["colour"] == ["unknown field"]
    # The message a person reads names the fields and what is wrong with them.
    assert "colour: unknown field." in error["message"] and "name: this field is required." in error["message"]


def test_api_errors_and_http_exceptions_take_the_platform_shape(client):
    refused = client.get("/refused")
    assert refused.status_code == 409 and refused.headers["retry-after"] == "3"
    assert refused.json() == {"error": {"code": "already_there", "message": "it exists", "retry_after": 3}}
    assert client.get("/teapot").json()["error"]["code"] == "not_found"
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    assert client.delete("/orders").json()["error"]["code"] == "method_not_allowed"


def test_a_bug_is_a_json_500_without_the_detail(client):
    response = client.get("/bug", headers={"x-request-id": "req-1"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and "secret detail" not in response.text
    assert error["request_id"] == "req-1" and "req-1" in error["message"]
    assert "Traceback" not in response.text


class _Settings(AtelierSettings):
    signing_key: str = "dev-only-key"

    def production_problems(self):
        return [guard.secret_problem("SIGNING_KEY", self.signing_key)]


def test_settings_guard_refuses_production_with_development_values():
    assert _Settings().atelier_env == "development"
    with pytest.raises(ValidationError, match="SIGNING_KEY"):
        _Settings(atelier_env="production")
    strong = "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl"
    assert _Settings(atelier_env="production", signing_key=strong).signing_key == strong
