"""An S3 API server on loopback for tests: moto's server mode, a real HTTP endpoint that boto3
talks to as it would to S3 or MinIO (moto comes with atelier-storage's test extra)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def s3_server() -> Iterator[str]:
    """Starts one on a free port; yields its endpoint URL; stops it after."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
