"""The account projection: every bound key handled, idempotent, order-independent."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from atelier_messaging.topology import EVENT_QUEUES
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app import consumers

from .helpers import deliver, iso

pytestmark = pytest.mark.integration
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


def account(db, user_id):
    db.expire_all()
    return db.execute(text("SELECT tier, verified, credits, deleted FROM accounts WHERE user_id = :u"), {"u": user_id}).one_or_none()


def registered(user_id, tier="free", verified=False, at=T0):
    return {"user_id": str(user_id), "email": "a@example.com", "tier": tier, "verified": verified, "registered_at": iso(at)}


def tier_changed(user_id, tier, previous, at):
    return {"user_id": str(user_id), "tier": tier, "previous_tier": previous, "reason": "subscription", "changed_at": iso(at)}


def test_every_key_the_queue_is_bound_to_has_a_handler():
    assert set(EVENT_QUEUES[consumers.QUEUE]) <= set(consumers.HANDLERS)


def test_registration_then_verification_then_upgrade(factory, db):
    user = uuid.uuid4()
    deliver(factory, "auth.user.registered.v1", registered(user))
    assert account(db, user) == ("free", False, 0, False)
    deliver(factory, "auth.user.verified.v1", {"user_id": str(user), "verified_at": iso(T0)})
    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "pro", "free", T0 + timedelta(minutes=1)))
    assert account(db, user) == ("pro", True, 0, False)


def test_out_of_order_the_newest_tier_wins_and_verified_sticks(factory, db):
    user = uuid.uuid4()
    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "free", "pro", T0 + timedelta(days=30)))
    deliver(factory, "auth.user.verified.v1", {"user_id": str(user), "verified_at": iso(T0)})
    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "pro", "free", T0 + timedelta(minutes=1)))
    deliver(factory, "auth.user.registered.v1", registered(user, verified=False))  # the oldest fact, last
    assert account(db, user) == ("free", True, 0, False)


def test_credits_apply_once_per_grant_and_refunds_never_go_negative(factory, db):
    user, grant = uuid.uuid4(), uuid.uuid4()
    data = {"grant_id": str(grant), "user_id": str(user), "credits": 100, "reason": "purchase", "granted_at": iso(T0)}
    deliver(factory, "payments.credits.granted.v1", data, producer="payments")
    deliver(factory, "payments.credits.granted.v1", data, producer="payments")  # redelivered with a new message id
    assert account(db, user).credits == 100
    refund = {"refund_id": str(uuid.uuid4()), "user_id": str(user), "amount_cents": 500, "currency": "EUR", "credits_revoked": 250, "issued_at": iso(T0)}
    deliver(factory, "payments.refund.issued.v1", refund, producer="payments")
    deliver(factory, "payments.refund.issued.v1", refund, producer="payments")
    assert account(db, user).credits == 0


def test_api_keys_created_and_revoked_in_either_order(factory, db):
    user, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def created(key_id):
        return {
            "key_id": str(key_id), "user_id": str(user), "prefix": "atl_live_abc", "scopes": ["jobs:read"], "tier": "partner",
            "limits": {"requests_per_minute": 10}, "expires_at": None, "created_at": iso(T0),
        }

    def revoked(key_id):
        return {"key_id": str(key_id), "user_id": str(user), "revoked_at": iso(T0)}

    deliver(factory, "auth.api_key.created.v1", created(first))
    deliver(factory, "auth.api_key.revoked.v1", revoked(second))
    deliver(factory, "auth.api_key.created.v1", created(second))  # arrived after its revocation
    db.expire_all()
    # The key stops working at its revoked_at (T0), kept through the later `created`.
    rows = dict(db.execute(text("SELECT key_id, revoked_at FROM api_keys WHERE user_id = :u"), {"u": user}).all())
    assert rows == {first: None, second: T0}
    limits = db.execute(text("SELECT tier, limits FROM api_keys WHERE key_id = :k"), {"k": first}).one()
    assert limits == ("partner", {"requests_per_minute": 10})


def test_deletion_forgets_jobs_and_images_and_stays_deleted(factory, db):
    user, job = uuid.uuid4(), uuid.uuid4()
    db.execute(
        text("INSERT INTO jobs (id, user_id, tier, kind, params, priority, deadline_at) VALUES (:id, :u, 'free', 'txt2img', '{}', 1, now())"),
        {"id": job, "u": user},
    )
    db.execute(text("INSERT INTO images (job_id, position, key, seed, width, height, content_type) VALUES (:j, 0, 'k', 1, 64, 64, 'image/png')"), {"j": job})
    db.commit()
    deliver(factory, "auth.user.deleted.v1", {"user_id": str(user), "deleted_at": iso(T0)})
    deliver(factory, "auth.user.registered.v1", registered(user, verified=True))  # late: must not resurrect
    assert account(db, user).deleted is True
    assert db.execute(text("SELECT count(*) FROM jobs WHERE user_id = :u"), {"u": user}).scalar() == 0
    assert db.execute(text("SELECT count(*) FROM images WHERE job_id = :j"), {"j": job}).scalar() == 0
