"""ORM tables. The migrations in ../../migrations are the source of truth for the schema;
these mappings must match them (tests run the migrations, then use these)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, Integer, SmallInteger, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.domain.lifecycle import STATUSES


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="jobs_user_idempotency_key"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="jobs_status_valid"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="jobs_progress_range"),
        Index("jobs_user_newest", "user_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    api_key_id: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    priority: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # The worker pool whose queue it was sent to (migration 0008).
    pool: Mapped[str] = mapped_column(Text, nullable=False, server_default="default")
    progress: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    error_code: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_fingerprint: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    cost: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    reserved_allowance: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    reserved_credits: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    reservation_day: Mapped[date | None] = mapped_column(Date)
    step: Mapped[int | None] = mapped_column(Integer)
    total_steps: Mapped[int | None] = mapped_column(Integer)
    time_limit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    images: Mapped[list["Image"]] = relationship(back_populates="job", order_by="Image.position", lazy="raise")


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("job_id", "key", name="images_job_key"),
        Index("images_job", "job_id", "position"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid())
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    key: Mapped[str] = mapped_column(Text, nullable=False)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    content_type: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    job: Mapped[Job] = relationship(back_populates="images", lazy="raise")


class StorageDeletion(Base):
    """A stored object whose row is gone and which must leave the store too (an image its owner
    or staff deleted, every object of a deleted account). Queued in the transaction that
    removes the row, so a crash or a store outage cannot forget it; the sweeper deletes the
    object and then the entry (app.adapters.storage_cleanup)."""

    __tablename__ = "storage_deletions"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class Account(Base):
    """What auth and payments told us about a user (a projection; see app.adapters.accounts)."""

    __tablename__ = "accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tier: Mapped[str | None] = mapped_column(Text)
    tier_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified: Mapped[bool | None] = mapped_column(Boolean)
    credits: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    allowance_day: Mapped[date | None] = mapped_column(Date)
    allowance_used: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    tier: Mapped[str | None] = mapped_column(Text)
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    scopes: Mapped[list[str] | None] = mapped_column(JSONB)
    # Revoked for good (the owner was deleted); a revocation by auth sets revoked_at instead,
    # which may lie in the future (the grace period of a rotated key).
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    def is_revoked(self, now: datetime) -> bool:
        return self.revoked or (self.revoked_at is not None and self.revoked_at <= now)


class CreditEntry(Base):
    __tablename__ = "credit_entries"

    entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    delta: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
