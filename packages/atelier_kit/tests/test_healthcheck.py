"""The images' HEALTHCHECK command against a real HTTP server on loopback."""
import http.server
import threading

import pytest

from atelier_kit.healthcheck import check, main


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_healthy_answer_exits_0(server):
    assert check(f"{server}/healthz")[0] is True
    assert main([f"{server}/healthz"]) == 0


def test_error_status_refused_port_and_bad_usage_are_unhealthy(server):
    assert check(f"{server}/readyz") == (False, f"503 from {server}/readyz")
    assert main(["http://127.0.0.1:9/healthz"]) == 1
    assert main([]) == 2
