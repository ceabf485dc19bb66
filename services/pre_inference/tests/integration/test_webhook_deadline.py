"""A receiver that trickles its answer cannot hold a delivery thread: each read has its timeout,
and the whole exchange a deadline (connect + 2 x read)."""
import socket
import threading
import time

import pytest

from app.adapters import webhook_sender

pytestmark = pytest.mark.integration


@pytest.fixture
def trickler():
    """Accepts, reads the request, then answers a byte every 0.2 s, forever."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve():
        connection, _ = server.accept()
        connection.settimeout(10)
        connection.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(0.2):
                    break
                connection.send(bytes([byte]))
        except OSError:
            pass  # the sender hung up, as it should
        finally:
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_trickling_receiver_is_cut_off_at_the_deadline(trickler):
    started = time.monotonic()
    outcome = webhook_sender.send(trickler, b"{}", secret="s" * 32, delivery_id="d", event_type="job.succeeded",
                                  https_only=False, allow_private=True, connect_timeout_s=0.5, read_timeout_s=1.0)
    elapsed = time.monotonic() - started
    assert outcome.status_code is None and outcome.error.startswith("timeout: the receiver took over 2.5 s"), outcome
    assert 2.4 <= elapsed < 4.0, elapsed
