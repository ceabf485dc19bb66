"""A real HTTP server on loopback that answers auth's login and logout routes the way auth
does, for testing the admin's staff login (common.staff_backend) over the wire: payments'
test tier runs without the auth service. Its tokens are signed with the test key the
``verifier`` fixture trusts; the end-to-end tier logs in against the real auth
(tests/e2e/test_staff.py)."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Account:
    password: str
    claims: dict


@dataclass
class AuthService:
    make_token: Callable[..., str]
    accounts: dict[str, Account] = field(default_factory=dict)
    # Every request as (path, JSON body, X-Forwarded-For), in arrival order.
    requests: list[tuple[str, dict, str | None]] = field(default_factory=list)
    delay_s: float = 0.0
    throttled: bool = False  # answer logins as auth does once an account is throttled
    url: str = ""

    def add(self, email: str, password: str, **claims) -> None:
        self.accounts[email.lower()] = Account(password, claims)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]

    def answer(self, path: str, body: dict) -> tuple[int, dict | None]:
        if path == "/api/auth/logout":
            return 204, None
        if path != "/api/auth/token":
            return 404, {"error": {"code": "not_found", "message": "no such route"}}
        if self.throttled:
            return 429, {"error": {"code": "rate_limited", "message": "too many failed logins"}}
        email = str(body.get("email", "")).strip().lower()
        account = self.accounts.get(email)
        if account is None or account.password != body.get("password"):
            return 401, {"error": {"code": "invalid_credentials", "message": "e-mail address or password is wrong"}}
        access = self.make_token(email=email, **account.claims)
        return 200, {"access": access, "refresh": f"refresh-for-{email}"}


def serve(service: AuthService) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            service.requests.append((self.path, body, self.headers.get("x-forwarded-for")))
            time.sleep(service.delay_s)
            status, answer = service.answer(self.path, body)
            payload = json.dumps(answer).encode() if answer is not None else b""
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server
