import pytest
from sqlalchemy import text

pytestmark = pytest.mark.integration


def test_tables_and_version_live_in_the_service_schema(db):
    rows = db.execute(text(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_name IN ('jobs', 'images', 'outbox', 'inbox', 'alembic_version')"
    )).all()
    assert sorted(rows) == [("pre_inference", t) for t in ("alembic_version", "images", "inbox", "jobs", "outbox")]
    assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
