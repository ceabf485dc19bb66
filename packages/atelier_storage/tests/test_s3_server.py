"""S3Storage against a real S3-compatible HTTP server on loopback (moto's server mode)."""
import pytest

from atelier_storage import ObjectNotFound, S3Storage, StorageError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def endpoint():
    from atelier_devkit.s3 import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def storage(endpoint, request):
    bucket = "atelier-" + request.node.name.lower().replace("_", "-")[:40]
    storage = S3Storage(bucket, endpoint_url=endpoint, region="us-east-1", access_key_id="test",
                        secret_access_key="test", prefix="run1", connect_timeout_s=2, read_timeout_s=5)
    storage.client.create_bucket(Bucket=bucket)
    return storage


def test_put_get_exists_delete_with_metadata(storage):
    params = {"prompt": "a red fox", "seed": 42, "steps": 20, "tiny_model": True}
    storage.put_bytes("images/j1/0.png", b"\x89PNG fake", content_type="image/png",
                      metadata={"job_id": "j1", "user_id": "u1", "params": params})
    assert storage.exists("images/j1/0.png")
    assert storage.get_bytes("images/j1/0.png") == b"\x89PNG fake"
    meta = storage.read_meta("images/j1/0.png")
    assert meta["content_type"] == "image/png"
    assert meta["metadata"] == {"job_id": "j1", "user_id": "u1", "params": params}
    # the prefix is part of the real object name
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["run1/images/j1/0.png"]
    storage.delete("images/j1/0.png")
    storage.delete("images/j1/0.png")
    assert not storage.exists("images/j1/0.png")
    with pytest.raises(ObjectNotFound):
        storage.get_bytes("images/j1/0.png")


def test_presigned_url_serves_the_object(storage):
    import urllib.request

    storage.put_bytes("images/j2/0.png", b"pixels", content_type="image/png")
    with urllib.request.urlopen(storage.presigned_url("images/j2/0.png", ttl_s=60), timeout=5) as response:
        assert response.read() == b"pixels" and response.headers["Content-Type"] == "image/png"


def test_overwrite_is_whole(storage):
    storage.put_bytes("k", b"first", content_type="application/octet-stream")
    storage.put_bytes("k", b"second", content_type="application/octet-stream")
    assert storage.get_bytes("k") == b"second"


def test_missing_bucket_is_a_storage_error(endpoint):
    storage = S3Storage("no-such-bucket", endpoint_url=endpoint, region="us-east-1",
                        access_key_id="test", secret_access_key="test")
    with pytest.raises(StorageError):
        storage.put_bytes("k", b"x", content_type="text/plain")


def test_unreachable_endpoint_fails_within_its_timeouts():
    import time

    storage = S3Storage("b", endpoint_url="http://127.0.0.1:9", region="us-east-1", access_key_id="t",
                        secret_access_key="t", connect_timeout_s=0.5, read_timeout_s=0.5, max_attempts=1)
    started = time.monotonic()
    with pytest.raises(StorageError):
        storage.get_bytes("k")
    assert time.monotonic() - started < 10


def test_open_object_streams_the_object_with_its_type_and_size(storage):
    data = bytes(range(256)) * 1000
    storage.put_bytes("images/j3/0.png", data, content_type="image/png")
    stored = storage.open_object("images/j3/0.png")
    assert (stored.content_type, stored.size) == ("image/png", len(data))
    chunks = list(stored.chunks(chunk_bytes=10_000))
    assert len(chunks) > 1 and b"".join(chunks) == data
    with pytest.raises(ObjectNotFound):
        storage.open_object("images/j3/missing.png")


def test_ensure_bucket_creates_once_and_then_finds_it(endpoint):
    storage = S3Storage("atelier-ensure-bucket", endpoint_url=endpoint, region="us-east-1",
                        access_key_id="test", secret_access_key="test")
    assert storage.ensure_bucket() is True
    assert storage.ensure_bucket() is False
    storage.put_bytes("k", b"x", content_type="text/plain")
    assert storage.get_bytes("k") == b"x"


def test_ensure_bucket_cli_waits_for_the_store_then_gives_up(monkeypatch, capsys):
    from atelier_storage.__main__ import ensure_bucket

    for name, value in {"ATELIER_S3_BUCKET": "b", "ATELIER_S3_ENDPOINT_URL": "http://127.0.0.1:9",
                        "ATELIER_S3_REGION": "us-east-1", "ATELIER_S3_ACCESS_KEY_ID": "t",
                        "ATELIER_S3_SECRET_ACCESS_KEY": "t", "ATELIER_S3_CONNECT_TIMEOUT_S": "0.2"}.items():
        monkeypatch.setenv(name, value)
    assert ensure_bucket(wait_s=0.5) == 1
    assert "did not answer" in capsys.readouterr().err
