"""Core statements compiled once per dialect and run on the driver's own cursor: the hot paths' executor.

`Connection.execute` re-derives a cache key and re-processes every parameter on each call; for the few
statements a command, a sweep or an import runs thousands of times that costs more than the database's
own work (SQLite answers a primary-key read in a few microseconds). A `Prepared` statement is still built
with Core on the tables, compiled by SQLAlchemy for the connection's dialect, with SQLAlchemy's own bind
and result processors (so rows read back through Core look exactly the same); only the per-call
bookkeeping is gone. It runs inside the caller's SQLAlchemy transaction, on the same DBAPI connection, and
driver errors are re-raised as SQLAlchemy's so `Store.translated` handles them in one place.

`insert_rows` is the plain insert of the bulk writers (a unit's new cases, events and rungs): rows already in
the driver's terms, encoded once by the caller, by executemany on SQLite and COPY on PostgreSQL.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import JSON
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from engine.domain.events import utc_text


class Prepared:
    __slots__ = ("statement", "_by_dialect")

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, conn: Connection) -> "_Compiled":
        dialect = conn.dialect
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self.statement, dialect)
        return compiled

    def execute(self, conn: Connection, params: dict | None = None):
        """Run once; returns the DBAPI cursor (rowcount, fetch via `rows`)."""
        return self._compiled(conn).run(conn, params or {})

    def executemany(self, conn: Connection, rows: Sequence[dict]) -> int:
        """Run for every dict in `rows`; returns the rows affected in total."""
        if not rows:
            return 0
        return self._compiled(conn).run_many(conn, rows)

    def rows(self, conn: Connection, params: dict | None = None) -> list[tuple]:
        """The result rows as tuples, each value through the column type's result processor."""
        return self._compiled(conn).process_rows(self.raw(conn, params))

    def processed(self, conn: Connection, rows: list) -> list[tuple]:
        """Driver rows (from `raw`) as `rows` gives them: for a reader that looks at a few stored values too."""
        return self._compiled(conn).process_rows(rows)

    def raw(self, conn: Connection, params: dict | None = None) -> list:
        """The driver's own result rows, unconverted (`processors` gives each column's conversion)."""
        cursor = self._compiled(conn).run(conn, params or {})
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def stream(self, conn: Connection, params: dict | None = None, *, batch: int = 5000):
        """The result rows in batches, never all in memory (a server-side cursor on PostgreSQL)."""
        compiled = self._compiled(conn)
        yield from compiled.stream(conn, params or {}, batch)

    def chunks(self, conn: Connection, params: dict | None = None, *, batch: int = 5000):
        """The driver's own rows in lists of up to `batch`, unconverted (`processors` gives each column's
        conversion): for a reader that converts the few columns it needs in a loop of its own."""
        yield from self._compiled(conn).chunks(conn, params or {}, batch)

    def processors(self, conn: Connection) -> tuple:
        """Each result column's conversion from the driver's value (None: taken as it is)."""
        return self._compiled(conn).result_processors or ()

    def first(self, conn: Connection, params: dict | None = None) -> tuple | None:
        found = self.rows(conn, params)
        return found[0] if found else None


class _Compiled:
    __slots__ = ("sql", "order", "positional", "result_processors", "converted", "dbapi", "fixed")

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.dbapi = dialect.dbapi
        binds = compiled.binds
        # Values written into the statement itself (`values(claimed_by=None)`) travel as parameters too.
        self.fixed = {key: bind.value for key, bind in binds.items() if not bind.required}
        # For a positional paramstyle (SQLite's qmark) the order of the names is the order of the markers.
        self.positional = compiled.positional
        names = tuple(compiled.positiontup) if compiled.positional else tuple(binds)
        self.order = tuple((name, _bind_processor(binds[name].type, dialect)) for name in names)
        self.result_processors = None
        if getattr(compiled, "_result_columns", None):
            self.result_processors = tuple(_result_processor(column.type, dialect) for column in _selected(statement))
        # (position, processor) of the columns that need converting: most of a row passes through as it is.
        self.converted = tuple((i, p) for i, p in enumerate(self.result_processors or ()) if p is not None)

    def _params(self, params: dict) -> Any:
        if self.fixed:
            params = {**self.fixed, **params}
        values = [params[name] if processor is None or params[name] is None else processor(params[name])
                  for name, processor in self.order]
        if self.positional:
            return values
        return dict(zip((name for name, _ in self.order), values))

    def run(self, conn: Connection, params: dict):
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, self._params(params))
        except self.dbapi.Error as error:
            cursor.close()
            raise _wrapped(self.sql, params, error, self.dbapi) from error
        return cursor

    def run_many(self, conn: Connection, rows: Sequence[dict]) -> int:
        cursor = conn.connection.cursor()
        try:
            if len(rows) == 1:  # psycopg's executemany pipelines: a round trip more than one execute
                cursor.execute(self.sql, self._params(rows[0]))
            else:
                cursor.executemany(self.sql, [self._params(r) for r in rows])
            return cursor.rowcount
        except self.dbapi.Error as error:
            raise _wrapped(self.sql, None, error, self.dbapi) from error
        finally:
            cursor.close()

    def stream(self, conn: Connection, params: dict, batch: int):
        for rows in self.chunks(conn, params, batch):
            yield from self.process_rows(rows)

    def chunks(self, conn: Connection, params: dict, batch: int):
        driver = conn.connection.driver_connection
        # PostgreSQL: a named cursor keeps the rows on the server, fetched a batch at a time.
        cursor = driver.cursor(name=f"hazard_stream_{id(self)}") if conn.dialect.name == "postgresql" else driver.cursor()
        try:
            try:
                cursor.execute(self.sql, self._params(params))
            except self.dbapi.Error as error:
                raise _wrapped(self.sql, params, error, self.dbapi) from error
            while True:
                rows = cursor.fetchmany(batch)
                if not rows:
                    return
                yield rows
        finally:
            cursor.close()

    def process_rows(self, rows: list) -> list[tuple]:
        converted = self.converted
        if not converted:
            return [tuple(r) for r in rows]
        result = []
        for row in rows:
            values = list(row)
            for i, processor in converted:
                if values[i] is not None:
                    values[i] = processor(values[i])
            result.append(tuple(values))
        return result


# How many rows make a COPY cheaper than an executemany on PostgreSQL (COPY has a round trip more to start).
COPY_FROM = 50


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> int:
    """Insert `rows` (tuples in the order of `columns`, each value already as the driver takes it: JSON as its
    text, an instant as `sqlite_instant` gives it on SQLite) in the caller's transaction, the fastest way the
    driver has: executemany on SQLite, COPY on PostgreSQL for a batch. The bulk writers' executor (a unit of
    work's new cases and events, an import's rungs): nothing is converted per value here."""
    if not rows:
        return 0
    dbapi = conn.dialect.dbapi
    names = ", ".join(columns)
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
            sql = f"COPY {table} ({names}) FROM STDIN"
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"
            if len(rows) == 1:
                cursor.execute(sql, rows[0])
            else:
                cursor.executemany(sql, rows)
        return len(rows)
    except dbapi.Error as error:
        raise _wrapped(sql, None, error, dbapi) from error
    finally:
        cursor.close()


_UPDATE_SQL: dict[tuple, str] = {}


def update_rows(conn: Connection, table: str, columns: Sequence[str], keys: Sequence[str], rows: list[tuple]) -> int:
    """`UPDATE table SET columns WHERE keys` for each row (the new values in the order of `columns`, then the keys'),
    each value already as the driver takes it, as `insert_rows` takes them; the rows changed in all."""
    if not rows:
        return 0
    dbapi = conn.dialect.dbapi
    mark = marker(conn)
    sql = _UPDATE_SQL.get((table, tuple(columns), tuple(keys), mark))
    if sql is None:
        sql = _UPDATE_SQL[(table, tuple(columns), tuple(keys), mark)] = (
            f"UPDATE {table} SET {', '.join(f'{c} = {mark}' for c in columns)} "
            f"WHERE {' AND '.join(f'{k} = {mark}' for k in keys)}")
    cursor = conn.connection.cursor()
    try:
        if len(rows) == 1:  # psycopg's executemany pipelines: a round trip more than one execute
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)
        return cursor.rowcount
    except dbapi.Error as error:
        raise _wrapped(sql, None, error, dbapi) from error
    finally:
        cursor.close()


def run_sql(conn: Connection, sql: str, params: Sequence) -> int:
    """One statement of SQL written for this connection's paramstyle (`marker`), its parameters already as the driver
    takes them, in the caller's transaction; the rows it changed."""
    dbapi = conn.dialect.dbapi
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.rowcount
    except dbapi.Error as error:
        raise _wrapped(sql, None, error, dbapi) from error
    finally:
        cursor.close()


def marker(conn: Connection) -> str:
    """The parameter marker of the connection's driver: `?` for SQLite's, `%s` for psycopg's."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def instant_writer(conn: Connection):
    """The function giving an aware instant (or its UTC ISO text from `engine.domain.events.utc_text`) as
    `insert_rows` takes it on this connection's database."""
    return sqlite_instant if conn.dialect.name == "sqlite" else _as_given


def sqlite_instant(value) -> str | None:
    """An instant as SQLite stores it (UTC, no zone: 2026-03-02 02:00:00.000000), from a datetime or UTC ISO text."""
    if value is None:
        return None
    if not isinstance(value, str):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: every instant must carry its zone")
        value = utc_text(value)
    return f"{value[:10]} {value[11:26]}"


def _as_given(value):
    return value


# The conversions SQLAlchemy would make, written directly for the types hot rows carry: SQLAlchemy's own
# go through two layers (our TypeDecorator, then the dialect's DateTime) and cost more than the query.
def _bind_processor(type_, dialect):
    from engine.store.tables import UTCDateTime
    if isinstance(type_, UTCDateTime):
        if dialect.name == "sqlite":
            return _sqlite_instant
        if dialect.name == "postgresql":
            return _utc
    if isinstance(type_, JSON) and dialect.name == "sqlite":
        return json.dumps
    return type_._cached_bind_processor(dialect)


def _result_processor(type_, dialect):
    from engine.store.tables import UTCDateTime
    if isinstance(type_, UTCDateTime):
        return _sqlite_read_instant if dialect.name == "sqlite" else _utc
    if isinstance(type_, JSON) and dialect.name == "sqlite":
        return json_loads
    return type_._cached_result_processor(dialect, None)


_scan_once = json.decoder.JSONDecoder().scan_once


def json_loads(text):
    """`json.loads` of a stored JSON text, without its wrappers' per-call checks (an audit decodes every event's
    payload): the scanner alone, when the text is one value and nothing else; anything else (white space
    around it, bytes, a malformed text) goes to `json.loads`, which gives the same value or the same error."""
    if text.__class__ is str:
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:
            return json.loads(text)
        if end == len(text):
            return value
    return json.loads(text)


_from_iso = datetime.fromisoformat


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store: every instant must carry its zone")
    return value.astimezone(timezone.utc)


def _sqlite_instant(value: datetime) -> str:
    return _utc(value).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_read_instant(value) -> datetime:
    if value.__class__ is str:  # as SQLite keeps it: UTC without its zone
        return _from_iso(value + "+00:00")
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return datetime.fromisoformat(value + "+00:00")


def _selected(statement):
    """The columns a SELECT (or an UPDATE/INSERT ... RETURNING) gives back, in order."""
    if hasattr(statement, "selected_columns"):
        return list(statement.selected_columns)
    return list(statement._returning)


def _wrapped(sql: str, params, error: Exception, dbapi) -> Exception:
    """The driver's error as SQLAlchemy would have raised it (IntegrityError stays IntegrityError)."""
    if isinstance(error, dbapi.IntegrityError):
        return sa_exc.IntegrityError(sql, params, error)
    if isinstance(error, dbapi.OperationalError):
        return sa_exc.OperationalError(sql, params, error)
    return sa_exc.DBAPIError(sql, params, error)
