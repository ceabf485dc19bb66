"""Hot-path statements run on psycopg's own connection, inside SQLAlchemy's transaction.

A submit is three statements; SQLAlchemy added about a fifth of pre_inference's CPU per
admitted job on top of them (compiling parameters, building each result's metadata from the
cursor description: textual SQL gets no cached result map). Here the SQL is kept as written,
its ``:name`` placeholders turned into psycopg's once, and each statement is prepared on the
server the first time a connection runs it. The connection, its pool and its transaction
stay SQLAlchemy's, so the rest of the request (and its rollback) is unchanged.
"""
from __future__ import annotations

from typing import Any, Mapping

from atelier_messaging.schema import pyformat
from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncConnection


class DriverStatement:
    """SQL with ``:name`` placeholders, converted once for psycopg (``%(name)s``)."""

    __slots__ = ("sql",)

    def __init__(self, sql: str):
        if "%" in sql:
            raise ValueError("a literal % would be read as a placeholder: write it as %%")
        self.sql = pyformat(sql)


async def fetch_one(conn: AsyncConnection, statement: DriverStatement, params: Mapping[str, Any]) -> Any:
    """The statement's one row (a named tuple); LookupError when it returned none."""
    raw = await conn.get_raw_connection()
    async with raw.driver_connection.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(statement.sql, params, prepare=True)
        row = await cursor.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row
