"""The model catalogue projection (migrations 0006, 0007, 0008): one row per (worker, model), written by
the consumer from `inference.worker.heartbeat` (v1; v2 adds LoRAs, v3 the worker's pool), read by admission and
GET /api/v1/models."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Text, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.adapters.models import Base
from atelier_messaging.topology import DEFAULT_POOL

from app.domain.catalogue import ModelEntry, Served, entries

# Rows of workers silent this long are dropped (a restarted worker has a new name, so rows
# would pile up); a model served by none of the rows left is unknown again.
FORGET_AFTER = "7 days"


class ModelServed(Base):
    __tablename__ = "model_catalogue"

    worker: Mapped[str] = mapped_column(Text, primary_key=True)
    model: Mapped[str] = mapped_column(Text, primary_key=True)
    family: Mapped[str] = mapped_column(Text, nullable=False)
    variant: Mapped[str] = mapped_column(Text, nullable=False)
    loaded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    kinds: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    schedulers: Mapped[list[str] | None] = mapped_column(JSONB)
    limits: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # The worker's LoRAs, every family's ({name, family}): a job naming one of another family's
    # is told so, not that it does not exist.
    loras: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB)
    device: Mapped[str] = mapped_column(Text, nullable=False)
    # The worker's pool (heartbeat v3; "default" before it): where jobs for the model go.
    pool: Mapped[str] = mapped_column(Text, nullable=False, server_default="default")
    interval_s: Mapped[float] = mapped_column(Float, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def record_heartbeat(session: Session, data: dict[str, Any], sent_at: datetime) -> bool:
    """Replaces the worker's rows with what it announced; a heartbeat not newer than the last
    applied (redelivered, reordered) changes nothing, not even when the worker was last seen, so
    that a second delivery is a no-op without the inbox. Returns whether it applied."""
    worker = data["worker"]
    # One worker's heartbeats serialise on this lock, so the check and the writes see each other.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:worker, 0))"), {"worker": f"catalogue:{worker}"})
    newest = session.execute(select(func.max(ModelServed.sent_at)).where(ModelServed.worker == worker)).scalar()
    if newest is not None and newest >= sent_at:
        return False
    names = [model["name"] for model in data["models"]]
    loras = data.get("loras") or None
    session.execute(delete(ModelServed).where(ModelServed.worker == worker, ModelServed.model.not_in(names)))
    for model in data["models"]:
        values = {"family": model["family"], "variant": model["variant"], "loaded": model["loaded"], "kinds": model["kinds"],
                  "schedulers": model.get("schedulers"), "limits": model["limits"], "device": data["device"],
                  "loras": loras, "pool": data.get("pool", DEFAULT_POOL),
                  "interval_s": float(data["interval_s"]), "sent_at": sent_at, "seen_at": func.now()}
        session.execute(insert(ModelServed).values(worker=worker, model=model["name"], **values)
                        .on_conflict_do_update(index_elements=["worker", "model"], set_=values))
    session.execute(delete(ModelServed).where(ModelServed.seen_at < func.now() - text(f"interval '{FORGET_AFTER}'")))
    return True


def _served(row: Any) -> Served:
    return Served(worker=row.worker, model=row.model, family=row.family, variant=row.variant, loaded=row.loaded,
                  kinds=tuple(row.kinds), schedulers=None if row.schedulers is None else tuple(row.schedulers),
                  limits=row.limits, interval_s=row.interval_s, seen_at=row.seen_at, pool=row.pool,
                  loras={lora["name"]: lora["family"] for lora in row.loras or ()})


async def read_entries(conn: AsyncConnection | AsyncSession, model: str | None = None) -> tuple[list[ModelEntry], bool]:
    """The catalogue (or one model's entry) as of the database's clock, and whether any worker
    has ever announced anything (an empty catalogue: nothing to refuse by)."""
    statement = select(*ModelServed.__table__.columns, func.now().label("now"))
    if model is not None:
        statement = statement.where(ModelServed.model == model)
    rows = (await conn.execute(statement)).all()
    if not rows:
        empty = model is None or (await conn.execute(select(func.count()).select_from(ModelServed))).scalar() == 0
        return [], empty
    return entries((_served(row) for row in rows), rows[0].now), False
