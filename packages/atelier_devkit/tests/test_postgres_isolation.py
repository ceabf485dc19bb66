"""Each service's role can touch its own schema and nothing else."""
import itertools

import psycopg
import pytest

from atelier_devkit import SCHEMA_SERVICES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env():
    from atelier_devkit.testing import provision, teardown

    env = provision("iso")
    with psycopg.connect(env["AUTH_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE secrets (x int)")
        conn.execute("INSERT INTO secrets VALUES (1)")
    yield env
    teardown(env)


def url(env, service):
    return env[f"{service.upper()}_DATABASE_URL"]


@pytest.mark.parametrize("service", SCHEMA_SERVICES)
def test_a_role_works_in_its_own_schema_by_default(env, service):
    with psycopg.connect(url(env, service), autocommit=True) as conn:
        assert conn.execute("SELECT current_schema()").fetchone()[0] == service
        conn.execute("CREATE TABLE IF NOT EXISTS mine (x int)")
        conn.execute("INSERT INTO mine VALUES (1)")
        assert conn.execute(f"SELECT count(*) FROM {service}.mine").fetchone()[0] >= 1


@pytest.mark.parametrize("reader,owner", [p for p in itertools.permutations(SCHEMA_SERVICES, 2) if p[1] == "auth"])
def test_a_role_cannot_read_or_write_another_schema(env, reader, owner):
    with psycopg.connect(url(env, reader), autocommit=True) as conn:
        for statement in (f"SELECT * FROM {owner}.secrets", f"INSERT INTO {owner}.secrets VALUES (2)", f"CREATE TABLE {owner}.intruder (x int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


@pytest.mark.parametrize("service", SCHEMA_SERVICES)
def test_a_role_cannot_create_in_public_or_grant_itself_more(env, service):
    with psycopg.connect(url(env, service), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.leak (x int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE ROLE sneaky")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE sneaky")


def test_bootstrap_is_idempotent(env):
    from atelier_devkit.postgres import bootstrap

    run = env["ATELIER_RUN_ID"]
    passwords = {s: url(env, s).split(":")[2].split("@")[0] for s in SCHEMA_SERVICES}
    bootstrap(env["ATELIER_PG_ADMIN_DSN"], run, run, passwords)
    with psycopg.connect(url(env, "auth")) as conn:
        assert conn.execute("SELECT x FROM secrets").fetchone() == (1,)
