"""A database of its own for a test module, per backend: for registers too big to rebuild for every test.

The `service` fixture's database is copied per test; a module that builds tens of thousands of cases (or
sweeps day by day for three months) builds them once, in a SQLite file or a PostgreSQL schema of its own,
seeded like the `service` one. On PostgreSQL the tables are analysed after building, as autovacuum would
be within a minute of a bulk load: without statistics it plans joins of new rows as if the tables were empty.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

from conftest import PG_URL, _pg_schema, seed


@contextmanager
def module_database(request, tmp_path_factory, name: str):
    """Yields (url, analyse) where `analyse()` refreshes PostgreSQL's statistics once the data is in."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / f'{name}.db'}"
    else:
        request.getfixturevalue("pg_session")  # skips (or fails under HAZARD_REQUIRE_PG=1) as the suite does
        schema = f"hz_{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = _pg_schema(schema)
    seed(url)

    def analyse():
        if schema:
            from sqlalchemy import create_engine
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            engine.dispose()

    try:
        yield url, analyse
    finally:
        if schema:
            from sqlalchemy import create_engine, text
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
