"""Real HTTP servers on loopback for the integration tests: uvicorn in a thread, on a socket
bound before start so there is no free-port race."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import socket
import threading
import time
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def dead_url() -> str:
    """An address where nothing listens."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


class ServerThread:
    def __init__(self, app, **config):
        self.sock = bound_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False, **config))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self.sock.close()


def _openapi(path: str, schema: dict) -> dict:
    return {
        "openapi": "3.0.3", "info": {"title": "x", "version": "1"},
        "paths": {path: {"get": {"operationId": "read", "summary": "Read it", "security": [{"jwt": []}],
                                 "responses": {"200": {"description": "ok", "content": {"application/json": {
                                     "schema": {"$ref": "#/components/schemas/Thing"}}}},
                                     "400": {"$ref": "#/components/responses/Error"}}}}},
        "components": {"schemas": {"Thing": schema, "Error": {"type": "object"}},
                       "responses": {"Error": {"description": "bad", "content": {"application/json": {
                           "schema": {"$ref": "#/components/schemas/Error"}}}}},
                       "securitySchemes": {"jwt": {"type": "http", "scheme": "bearer"}}},
    }


OPENAPI_AUTH = _openapi("/api/auth/me", {"type": "object", "properties": {"email": {"type": "string"}}})
OPENAPI_PRE = _openapi("/api/v1/jobs", {"type": "array", "items": {"$ref": "#/components/schemas/Error"}})


class Upstream:
    """One stub that plays auth, payments and pre_inference: echoes what it receives, serves
    the JWKS, streams events on request and can be slow on purpose."""

    def __init__(self):
        self.jwks: dict = {"keys": []}
        self.jwks_fetches = 0
        # Plays auth's introspection: secret -> (status, body); token_for(key_id, user_id) signs.
        self.internal_token = "internal-" + uuid.uuid4().hex
        self.api_keys: dict[str, tuple[int, dict]] = {}
        self.introspected: list[dict] = []
        self.token_for = None
        self.release_stream = threading.Event()
        self.stream_finished = threading.Event()
        # What /readyz answers: (status, body); a test may make the upstream unready.
        self.readiness: tuple[int, dict] = (200, {"status": "ready"})
        self.app = Starlette(routes=[
            Route("/healthz", lambda r: JSONResponse({"status": "ok"})),
            Route("/readyz", lambda r: JSONResponse(self.readiness[1], status_code=self.readiness[0])),
            Route("/api/auth/.well-known/jwks.json", self._jwks),
            Route("/api/v1/jobs/keepalive/events", self._keepalive),
            Route("/api/v1/jobs/silent/events", self._silent),
            Route("/api/v1/jobs/{id}/events", self._events),
            Route("/api/auth/openapi.json", lambda r: JSONResponse(OPENAPI_AUTH)),
            Route("/api/payments/openapi.json", lambda r: JSONResponse({"error": {"code": "not_found"}}, status_code=404)),
            Route("/api/v1/openapi.json", lambda r: JSONResponse(OPENAPI_PRE)),
            Route("/api/v1/slow", self._slow),
            Route("/api/v1/overloaded", lambda r: JSONResponse(
                {"error": {"code": "overloaded", "message": "busy"}}, status_code=503, headers={"Retry-After": "7"})),
            Route("/api/auth/redirect", self._redirect),
            Route("/api/auth/cookies", self._cookies),
            Route("/internal/api-keys/introspect", self._introspect, methods=["POST"]),
            Route("/{path:path}", self._echo, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        ])

    async def _jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse(self.jwks)

    def issue_key(self, *, expires_in: int = 300) -> tuple[str, str]:
        """A new valid key: returns (secret, key_id)."""
        secret = "atl_live_" + secrets.token_urlsafe(30)[:40]
        key_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.api_keys[secret] = (200, {"key_id": key_id, "user_id": user_id, "expires_in": expires_in})
        return secret, key_id

    async def _introspect(self, request: Request) -> Response:
        if request.headers.get("x-internal-token") != self.internal_token:
            return JSONResponse({"error": {"code": "forbidden", "message": "no"}}, status_code=403)
        key = (await request.json()).get("key")
        self.introspected.append({"key": key, "headers": dict(request.headers)})
        status, body = self.api_keys.get(key, (401, {"error": {"code": "api_key_invalid", "message": "unknown"}}))
        if status == 200:
            access = self.token_for(key_id=body["key_id"], sub=body["user_id"], tier="partner",
                                    scopes=["jobs:write", "jobs:read"], expires_in=body["expires_in"])
            body = {**body, "access": access}
        return JSONResponse(body, status_code=status)

    async def _echo(self, request: Request) -> Response:
        body = await request.body()
        return JSONResponse({
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": base64.b64encode(body).decode(),
        }, status_code=201 if request.method == "POST" else 200)

    async def _events(self, request: Request) -> Response:
        self.release_stream.clear()
        self.stream_finished.clear()

        async def events():
            yield b"event: progress\ndata: {\"step\": 1}\n\n"
            # Hold the stream open until the test has seen the first event arrive.
            for _ in range(500):
                if self.release_stream.is_set():
                    break
                await asyncio.sleep(0.02)
            yield b"event: done\ndata: {\"status\": \"succeeded\"}\n\n"
            self.stream_finished.set()

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def _keepalive(self, request: Request) -> Response:
        async def events():
            # Longer in total than the idle limit the tests set, but never silent for that long.
            for _ in range(8):
                yield b": keepalive\n\n"
                await asyncio.sleep(0.25)
            yield b"event: job\ndata: {\"status\": \"succeeded\"}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _silent(self, request: Request) -> Response:
        async def events():
            yield b"event: job\ndata: {\"status\": \"queued\"}\n\n"
            await asyncio.sleep(10)
            yield b"event: job\ndata: {\"status\": \"succeeded\"}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _slow(self, request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse({"late": True})

    async def _redirect(self, request: Request) -> Response:
        base = f"http://{request.headers['host']}"
        return Response(status_code=302, headers={"Location": f"{base}/admin/auth/login/?next=/admin/auth/"})

    async def _cookies(self, request: Request) -> Response:
        response = JSONResponse({"ok": True})
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response


class FlakyUpstream:
    """A raw HTTP/1.1 server that misbehaves the way real upstreams do at the worst moment.

    Every connection answers its requests with keep-alive, but:
    - `GET /boom` answers 500 with an HTML debug page, and the connection is then dead: the next
      request sent on it is read and the socket closed without an answer (what a crashed worker
      or a server that closes after an error does);
    - with `close_reused=True`, any second request on one connection is dropped the same way
      (the upstream's keep-alive timeout firing just as the gateway reuses the connection).
    """

    def __init__(self, *, close_reused: bool = False):
        self.close_reused = close_reused
        self.connections = 0
        self.requests: list[str] = []
        self.sock = bound_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _read_request(self, reader) -> tuple[str, str] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length:
            await reader.readexactly(length)
        return method, path

    async def _serve(self, reader, writer) -> None:
        self.connections += 1
        served, dead = 0, False
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                method, path = request
                self.requests.append(f"{method} {path}")
                if dead or (self.close_reused and served >= 1):
                    return  # closes without a byte of answer
                served += 1
                if path.startswith("/api/v1/boom"):
                    body = b"<!doctype html><title>Server Error</title><h1>Traceback (most recent call last)</h1>"
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                    dead = True
                else:
                    body = json.dumps({"ok": True, "method": method}).encode()
                    status = b"201 Created" if method == "POST" else b"200 OK"
                    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                                 + (b"" if method == "HEAD" else body))
                await writer.drain()
        finally:
            writer.close()

    def __enter__(self) -> "FlakyUpstream":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, sock=self.sock)

    def __exit__(self, *exc) -> None:
        async def stop():
            self.server.close()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def decode_echo(response) -> dict:
    data = response.json()
    data["body"] = base64.b64decode(data["body"])
    data["header_map"] = {k: v for k, v in data["headers"]}
    return data


__all__ = ["FlakyUpstream", "ServerThread", "Upstream", "bound_socket", "dead_url", "decode_echo", "json"]
