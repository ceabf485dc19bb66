"""A deleted account's objects, and a deleted image's, leave the store: queued with the rows'
removal, deleted by the sweeper, kept and retried while the store is away. On the filesystem
and on a real S3 API server (moto's)."""
import json
import uuid
from datetime import datetime, timezone

import pytest
from atelier_storage import FilesystemStorage, S3Storage
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.adapters import storage_cleanup

from .helpers import deliver, iso

pytestmark = pytest.mark.integration
PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 64


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


@pytest.fixture(params=["filesystem", "s3"])
def store(request, tmp_path):
    if request.param == "filesystem":
        return FilesystemStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    s3 = S3Storage(f"cleanup-{uuid.uuid4().hex[:12]}", endpoint_url=endpoint, region="us-east-1",
                   access_key_id="test", secret_access_key="test")
    s3.client.create_bucket(Bucket=s3.bucket)
    return s3


def a_job_with_objects(db, store, user, *, inputs: bool) -> list[str]:
    """A finished job of ``user`` with two images (and its img2img inputs); returns every key."""
    job = uuid.uuid4()
    keys = [f"images/{user}/{job}/0.png", f"images/{user}/{job}/1.png"]
    params = {"prompt": "p"}
    if inputs:
        params |= {"init_image_key": f"uploads/{user}/{job}/init.png", "mask_key": f"uploads/{user}/{job}/mask.png"}
        keys += [params["init_image_key"], params["mask_key"]]
    db.execute(text("INSERT INTO jobs (id, user_id, tier, kind, status, params, priority, deadline_at) "
                    "VALUES (:id, :u, 'free', 'img2img', 'succeeded', CAST(:p AS jsonb), 1, now())"),
               {"id": job, "u": user, "p": json.dumps(params)})
    for position, key in enumerate(keys[:2]):
        db.execute(text("INSERT INTO images (job_id, position, key, seed, width, height, content_type) "
                        "VALUES (:j, :pos, :k, 1, 64, 64, 'image/png')"), {"j": job, "pos": position, "k": key})
    db.commit()
    for key in keys:
        store.put_bytes(key, PNG, content_type="image/png")
    return keys


def queued(db, keys):
    db.expire_all()
    return db.execute(text("SELECT key, attempts, last_error FROM storage_deletions WHERE key = ANY(:k) ORDER BY key"),
                      {"k": keys}).all()


def test_a_deleted_account_leaves_the_store_and_no_one_else_does(factory, db, store):
    gone, kept = uuid.uuid4(), uuid.uuid4()
    theirs = a_job_with_objects(db, store, gone, inputs=True) + a_job_with_objects(db, store, gone, inputs=False)
    others = a_job_with_objects(db, store, kept, inputs=True)

    deliver(factory, "auth.user.deleted.v1", {"user_id": str(gone), "deleted_at": iso(datetime.now(timezone.utc))})
    assert [row.key for row in queued(db, theirs + others)] == sorted(theirs)  # queued with the rows' removal
    assert all(store.exists(key) for key in theirs)  # nothing leaves the store before its row is gone for good

    while storage_cleanup.purge_once(factory, store)[0]:
        pass
    assert not any(store.exists(key) for key in theirs)
    assert all(store.exists(key) for key in others)
    assert queued(db, theirs) == []


def test_a_store_that_is_away_keeps_the_deletion_queued_with_its_error(factory, db, tmp_path, s3_endpoint):
    user = uuid.uuid4()
    store = FilesystemStorage(tmp_path / "store")
    keys = a_job_with_objects(db, store, user, inputs=False)
    deliver(factory, "auth.user.deleted.v1", {"user_id": str(user), "deleted_at": iso(datetime.now(timezone.utc))})

    away = S3Storage("no-such-bucket", endpoint_url="http://127.0.0.1:9", region="us-east-1", access_key_id="x",
                     secret_access_key="x", connect_timeout_s=0.2, read_timeout_s=0.2)
    deleted, failed = storage_cleanup.purge_once(factory, away)
    assert failed >= len(keys)
    rows = queued(db, keys)
    assert [row.key for row in rows] == sorted(keys) and all(row.attempts == 1 and row.last_error for row in rows)

    while storage_cleanup.purge_once(factory, store)[0]:
        pass
    assert queued(db, keys) == [] and not any(store.exists(key) for key in keys)


async def test_deleting_an_image_removes_its_object_at_once(client, settings, db, make_token):
    """Through the API: the row and the object go together, and nothing stays queued."""
    user = uuid.uuid4()
    store = FilesystemStorage(settings.atelier_storage_dir)
    keys = a_job_with_objects(db, store, user, inputs=False)
    image_id = db.execute(text("SELECT id FROM images WHERE key = :k"), {"k": keys[0]}).scalar_one()
    response = await client.delete(f"/api/v1/images/{image_id}", headers={"Authorization": f"Bearer {make_token(sub=str(user))}"})
    assert response.status_code == 204, response.text
    assert not store.exists(keys[0]) and store.exists(keys[1])
    assert queued(db, keys) == []
