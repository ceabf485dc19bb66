"""Alembic environment: sync psycopg 3 engine on PRE_INFERENCE_DATABASE_URL.

Tables are unqualified: the service role's search_path is its own schema. The version
table is pinned to that same schema (read from the connection), so it never lands in
``public`` and a second service in the same database has its own history.
"""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.adapters.models import Base
from app.config import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, version_table_schema="pre_inference")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
        if not schema:
            raise RuntimeError("the role has no usable schema on its search_path (expected pre_inference)")
        connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata, version_table_schema=schema)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
