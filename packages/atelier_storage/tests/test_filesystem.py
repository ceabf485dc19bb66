import pytest

from atelier_storage import FilesystemStorage, InvalidKey, ObjectNotFound, S3Storage, storage_from_env
from atelier_storage.s3 import METADATA_BUDGET, decode_metadata, encode_metadata


def test_round_trip_and_delete(tmp_path):
    storage = FilesystemStorage(tmp_path)
    storage.put_bytes("images/a/0.png", b"png", content_type="image/png", metadata={"job_id": "a"})
    assert storage.exists("images/a/0.png") and storage.get_bytes("images/a/0.png") == b"png"
    assert storage.read_meta("images/a/0.png") == {"content_type": "image/png", "metadata": {"job_id": "a"}}
    storage.delete("images/a/0.png")
    storage.delete("images/a/0.png")  # idempotent
    assert not storage.exists("images/a/0.png")
    with pytest.raises(ObjectNotFound):
        storage.get_bytes("images/a/0.png")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a\x00b"])
def test_keys_cannot_escape_the_root(tmp_path, key):
    with pytest.raises(InvalidKey):
        FilesystemStorage(tmp_path).get_bytes(key)


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b"])
def test_s3_keys_are_checked_before_any_request(key):
    storage = S3Storage("bucket", client=object())
    with pytest.raises(InvalidKey):
        storage.object_name(key)


def test_backend_selection(tmp_path):
    assert isinstance(storage_from_env(environ={"ATELIER_STORAGE_DIR": str(tmp_path)}), FilesystemStorage)
    s3 = storage_from_env(environ={"ATELIER_STORAGE_BACKEND": "s3", "ATELIER_S3_BUCKET": "imgs",
                                   "ATELIER_S3_ENDPOINT_URL": "http://127.0.0.1:9", "ATELIER_S3_REGION": "us-east-1",
                                   "ATELIER_S3_PREFIX": "/atelier/", "ATELIER_S3_CONNECT_TIMEOUT_S": "2"})
    assert isinstance(s3, S3Storage) and s3.bucket == "imgs" and s3.object_name("k") == "atelier/k"
    assert s3.client.meta.config.connect_timeout == 2 and s3.client.meta.config.read_timeout == 30
    with pytest.raises(ValueError, match="bucket"):
        storage_from_env(environ={"ATELIER_STORAGE_BACKEND": "s3"})
    with pytest.raises(ValueError, match="filesystem, s3"):
        storage_from_env(environ={"ATELIER_STORAGE_BACKEND": "ftp"})


def test_metadata_is_ascii_and_fits_s3s_budget():
    params = {"prompt": "un château près de la mer " * 200, "seed": 7, "steps": 30}
    encoded = encode_metadata({"job_id": "j1", "params": params})
    assert all(v.isascii() and k.isascii() for k, v in encoded.items())
    assert sum(len(k) + len(v) for k, v in encoded.items()) <= METADATA_BUDGET
    decoded = decode_metadata(encoded)
    assert decoded["job_id"] == "j1" and decoded["params"]["seed"] == 7
    assert decoded["params"]["prompt"].startswith("un château") and decoded["params"]["prompt"].endswith("…")


def test_open_object_streams_the_file_with_its_type_and_size(tmp_path):
    storage = FilesystemStorage(tmp_path)
    data = b"x" * 150_000
    storage.put_bytes("images/j/0.png", data, content_type="image/png")
    stored = storage.open_object("images/j/0.png")
    assert (stored.content_type, stored.size) == ("image/png", len(data))
    assert b"".join(stored.chunks(chunk_bytes=64 * 1024)) == data
    assert stored.body.closed
    with pytest.raises(ObjectNotFound):
        storage.open_object("images/j/missing.png")
    with pytest.raises(InvalidKey):
        storage.open_object("../outside")


def test_an_explicit_directory_wins_over_the_environment(tmp_path):
    chosen = storage_from_env(environ={"ATELIER_STORAGE_DIR": str(tmp_path / "env")}, directory=tmp_path / "mine")
    assert chosen.root == (tmp_path / "mine").resolve()
