"""Database settings (`require_token`, `drill`, the users' log head): a few key-value rows.

`require_token` and `drill` are written only with a `setting` grant of the users' log, so `audit verify`
proves them; `user_log_head` is the (seq, hash) of the log's last grant, for the same reason a case row
names its last event: a removed last grant shows.
"""
from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from engine.store.prepared import Prepared
from engine.store.tables import settings

HEAD = "user_log_head"
_GET = Prepared(select(settings.c.value).where(settings.c.key == bindparam("key")))


def get(conn: Connection, key: str) -> str | None:
    row = _GET.first(conn, {"key": key})
    return None if row is None else row[0]


def get_all(conn: Connection) -> dict[str, str]:
    return {key: value for key, value in conn.execute(select(settings.c.key, settings.c.value))}


def put(conn: Connection, key: str, value: str) -> None:
    if not conn.execute(update(settings).where(settings.c.key == key), {"value": value}).rowcount:
        conn.execute(insert(settings), [{"key": key, "value": value}])


def is_true(value: str | None) -> bool:
    return value == "true"
