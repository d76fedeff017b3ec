"""Alembic's environment for hazard-closure: run with a connection `engine.store.schema` hands in."""
from __future__ import annotations

from alembic import context

from engine.store.schema import all_metadata

connection = context.config.attributes["connection"]
# render_as_batch: SQLite changes columns by copying the table (ALTER TABLE there is limited).
context.configure(connection=connection, target_metadata=all_metadata(), render_as_batch=True,
                  compare_type=False)
with context.begin_transaction():
    context.run_migrations()
