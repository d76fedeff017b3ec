"""The schema's version: which revision a database is at, and carrying it forward with Alembic.

A new database gets today's tables (`METADATA.create_all`) and is stamped with the newest revision; a
database an earlier release made is upgraded revision by revision (`engine/store/schema_migrations/versions/`).
The first release kept no revision: a database with its tables and no `alembic_version` is at `0001`.
Reading the revision is plain SQL, so only `init` and `db ...` pay for importing Alembic.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from engine.domain.errors import StoreError

HEAD = "0012"      # the newest revision; a test checks Alembic's scripts agree
FIRST = "0001"     # the first release's schema, which wrote no revision
MIGRATIONS = Path(__file__).parent / "schema_migrations"


def all_metadata():
    """Every table's metadata: the Core tables and the SQLModel records of the cold paths."""
    from sqlmodel import SQLModel

    import engine.store.campaign_records  # noqa: F401 - their tables join SQLModel's metadata
    import engine.store.records  # noqa: F401
    from engine.store.tables import METADATA, declare_partial_indexes
    declare_partial_indexes()
    return [METADATA, SQLModel.metadata]


def revision_of(conn) -> str | None:
    """The database's revision; FIRST for a first-release database; None when it has no tables at all."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return FIRST if "hazard_case" in tables else None


def refuse_older(revision: str | None, safe_url: str) -> None:
    """A database an older release made must be upgraded first (`db upgrade`), not written to."""
    if revision not in (None, HEAD):
        raise StoreError(f"the database at {safe_url} has the layout of an older release (revision "
                         f"{revision}, this release writes {HEAD})", rule="old-schema")


def _config(conn):
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def stamp_head(conn) -> None:
    """Record, in the transaction that created today's tables, that the database is at the newest revision."""
    from alembic import command
    command.stamp(_config(conn), HEAD)


def upgrade(store) -> tuple[str | None, str]:
    """Carry the database forward to HEAD; returns (revision before, revision after)."""
    from alembic import command
    with store.translated(), store.db_engine.begin() as conn:
        before = revision_of(conn)
        if before == FIRST and "alembic_version" not in inspect(conn).get_table_names():
            command.stamp(_config(conn), FIRST)
        command.upgrade(_config(conn), "head")
        return before, revision_of(conn)
