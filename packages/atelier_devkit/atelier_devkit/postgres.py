"""One database, one schema and one login role per service.

Each role owns its schema and nothing else; PUBLIC loses CONNECT on the database and
CREATE on ``public``, so a role can read or write only its own service's tables.
The role's ``search_path`` is its schema, so migrations need no schema names.

    python -m atelier_devkit.postgres --admin-dsn DSN --database atelier --prefix atelier
"""
from __future__ import annotations

import argparse
import os

import psycopg
from psycopg import sql

from . import SCHEMA_SERVICES


def role_name(prefix: str, service: str) -> str:
    return f"{prefix}_{service}"


def service_dsn(host: str, port: int, database: str, prefix: str, service: str, password: str) -> str:
    return f"postgresql://{role_name(prefix, service)}:{password}@{host}:{port}/{database}"


def _ensure_role(cur: psycopg.Cursor, role: str, password: str) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    verb = "ALTER" if cur.fetchone() else "CREATE"
    cur.execute(
        sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
        )
    )


def bootstrap(admin_dsn: str, database: str, prefix: str, passwords: dict[str, str]) -> None:
    """Idempotent: safe to run on every start."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn, conn.cursor() as cur:
        for service in SCHEMA_SERVICES:
            _ensure_role(cur, role_name(prefix, service), passwords[service])
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        for service in SCHEMA_SERVICES:
            role = sql.Identifier(role_name(prefix, service))
            cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), role))
            cur.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(
                    role, sql.Identifier(database), sql.Identifier(service)
                )
            )

    db_dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=database)
    with psycopg.connect(db_dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for service in SCHEMA_SERVICES:
            role = sql.Identifier(role_name(prefix, service))
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(sql.Identifier(service), role))
            cur.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(service), role))
            cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(service)))


def destroy(admin_dsn: str, database: str, prefix: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        for service in SCHEMA_SERVICES:
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role_name(prefix, service))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-dsn", default=os.environ.get("ATELIER_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--database", default=os.environ.get("ATELIER_DB_NAME", "atelier"))
    parser.add_argument("--prefix", default=os.environ.get("ATELIER_DB_ROLE_PREFIX", "atelier"))
    args = parser.parse_args()
    passwords = {s: os.environ[f"{s.upper()}_DB_PASSWORD"] for s in SCHEMA_SERVICES}
    bootstrap(args.admin_dsn, args.database, args.prefix, passwords)
    print(f"postgres: database {args.database} with schemas {', '.join(SCHEMA_SERVICES)} ready")


if __name__ == "__main__":
    main()
