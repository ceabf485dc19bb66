"""Engines and sessions. The API uses an async engine; the consumer a sync one on the
same URL (the messaging package's unit of work is synchronous)."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings

# A request must not hang on a stuck database: fail fast and answer 503.
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 15_000
POOL_WAIT_S = 10


def _connect_args() -> dict:
    return {"connect_timeout": CONNECT_TIMEOUT_S, "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}


def make_async_engine(settings: Settings) -> AsyncEngine:
    # No pre-ping: it is a round trip on every checkout, as many as the request's own
    # statements. A connection that died (a Postgres restart) fails its statement; the
    # pool then drops every connection of that generation and the next request reconnects.
    return create_async_engine(
        settings.database_url,
        pool_size=settings.pre_inference_db_pool_size,
        max_overflow=0,
        pool_timeout=POOL_WAIT_S,
        connect_args=_connect_args(),
    )


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: responses are built from objects after the commit.
    return async_sessionmaker(engine, expire_on_commit=False)


def make_sync_engine(settings: Settings, *, pool_size: int = 2) -> Engine:
    # No pre-ping either (see above): a statement on a dead connection fails, the consumer
    # retries that message, and the pool has reconnected by then.
    return create_engine(settings.database_url, pool_size=pool_size, max_overflow=2, connect_args=_connect_args())


def make_sync_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
