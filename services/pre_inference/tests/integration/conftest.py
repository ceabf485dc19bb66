"""Integration fixtures: a database provisioned for this run (never a shared one),
migrated once with the real Alembic scripts, and the app driven in-process over ASGI."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from atelier_devkit.testing import provision_for_process
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.main import create_app


SERVICE_DIR = Path(__file__).resolve().parents[2]
SIGNING_KEY = "test-signing-key-for-image-urls-0123456789"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    env = provision_for_process("preinf")
    settings = Settings(
        atelier_env="test",
        pre_inference_database_url=env["PRE_INFERENCE_DATABASE_URL"],
        atelier_amqp_url=env["ATELIER_AMQP_URL"],
        atelier_redis_url=env["ATELIER_REDIS_URL"],
        atelier_redis_prefix=env["ATELIER_REDIS_PREFIX"],
        atelier_storage_dir=str(tmp_path_factory.mktemp("storage")),
        atelier_storage_signing_key=SIGNING_KEY,
        pre_inference_db_pool_size=5,
    )
    config = Config(str(SERVICE_DIR / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    return settings


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API server (moto's) on loopback, for the tests that run on the S3 backend."""
    from atelier_devkit.s3 import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def sync_engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(sync_engine: Engine) -> Iterator[Session]:
    """For looking at what the app wrote (and arranging rows) outside the app."""
    with sessionmaker(sync_engine)() as session:
        yield session


@pytest.fixture
async def app(settings, verifier):
    application = create_app(settings, verifier=verifier)
    yield application
    await application.state.job_changes.close()
    await application.state.engine.dispose()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pre-inference.test") as client:
        yield client
