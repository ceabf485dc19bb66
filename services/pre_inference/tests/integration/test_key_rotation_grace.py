"""Finding 9 (pre_inference's part): "the rotation grace period does not work in
pre_inference". auth rotates an API key with a grace period by revoking the old key AT the
end of the grace and publishing auth.api_key.revoked at once, with that future revoked_at.
The projection marked the key revoked when the message arrived, so pre_inference alone
answered 401 api_key_revoked during the grace that auth and the gateway still honoured.
Now the key stops working at its revoked_at, and the earliest revocation wins."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import sessionmaker

from .helpers import deliver, iso

pytestmark = pytest.mark.integration
SCOPES = ["jobs:write", "jobs:read", "images:read", "usage:read"]
JOB = {"kind": "txt2img", "prompt": "a lighthouse", "width": 64, "height": 64, "steps": 1}


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


def revoked(user, key_id, at):
    return {"key_id": key_id, "user_id": str(user), "revoked_at": iso(at)}


def created(user, key_id):
    return {"key_id": key_id, "user_id": str(user), "prefix": "atl_live_abc", "scopes": SCOPES, "tier": "pro",
            "limits": None, "expires_at": None, "created_at": iso(datetime.now(timezone.utc))}


async def submit(client, make_token, user, key_id):
    token = make_token(sub=str(user), tier="pro", key_id=key_id, scopes=SCOPES)
    return await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": f"Bearer {token}"})


async def usage(client, make_token, user, key_id):
    token = make_token(sub=str(user), tier="pro", key_id=key_id, scopes=SCOPES)
    return await client.get("/api/v1/usage", headers={"Authorization": f"Bearer {token}"})


async def test_a_rotated_key_works_until_its_grace_ends(client, make_token, factory):
    user, old_key = uuid.uuid4(), str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    deliver(factory, "auth.api_key.created.v1", created(user, old_key))
    deliver(factory, "auth.api_key.revoked.v1", revoked(user, old_key, now + timedelta(hours=1)))  # rotated, 1 h of grace
    response = await submit(client, make_token, user, old_key)
    assert response.status_code == 202, response.text
    assert (await usage(client, make_token, user, old_key)).status_code == 200

    # The owner revokes it for good during the grace: an earlier revoked_at wins ...
    deliver(factory, "auth.api_key.revoked.v1", revoked(user, old_key, now - timedelta(seconds=1)))
    # ... and a later one (a redelivery of the first, out of order) cannot undo it.
    deliver(factory, "auth.api_key.revoked.v1", revoked(user, old_key, now + timedelta(hours=2)))
    for answer in (await submit(client, make_token, user, old_key), await usage(client, make_token, user, old_key)):
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "api_key_revoked", answer.text


async def test_a_revocation_before_the_creation_and_in_the_past_still_refuses(client, make_token, factory):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    deliver(factory, "auth.api_key.revoked.v1", revoked(user, key_id, datetime.now(timezone.utc) - timedelta(minutes=1)))
    deliver(factory, "auth.api_key.created.v1", created(user, key_id))
    response = await submit(client, make_token, user, key_id)
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_revoked"


async def test_a_deleted_owners_keys_stay_revoked(client, make_token, factory):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    deliver(factory, "auth.api_key.created.v1", created(user, key_id))
    deliver(factory, "auth.user.deleted.v1", {"user_id": str(user), "deleted_at": iso(datetime.now(timezone.utc))})
    response = await submit(client, make_token, user, key_id)
    assert response.status_code in (401, 403)
