"""A real HTTP receiver on 127.0.0.1 for the webhook tests: answers with the statuses it is
told, in turn (the last one repeats), and keeps every request it got."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


class running_receiver:
    def __init__(self, *statuses: int):
        self.receiver = Receiver(statuses=list(statuses) or [200])

    def __enter__(self) -> Receiver:
        receiver = self.receiver

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)))
                status = receiver.answer()
                payload = b"nope" if status >= 300 else b"ok"
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        receiver.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/atelier"
        return receiver

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
