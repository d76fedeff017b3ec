"""The database at the edge: the SQLAlchemy engine from a URL, transactions, and driver errors translated.

SQLite (the embedded default) gets WAL, `synchronous=NORMAL`, a busy timeout and foreign keys on every
connection, and write transactions start with `BEGIN IMMEDIATE` so a read-then-write transaction never
fails half-way with SQLITE_BUSY. PostgreSQL serves several processes or machines sharing the work.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError

from engine.errors import Conflict, InvalidInput, StoreError, StoreUnavailable

DEFAULT_URL = "sqlite:///hazard.db"


def normalise_url(url: str) -> str:
    """Accept a bare file path or `postgresql://` and give SQLAlchemy the driver we ship."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False):
        self.url = normalise_url(url)
        self.db_engine: Engine = _create(self.url, echo)
        self.dialect = self.db_engine.dialect.name
        if self.dialect == "sqlite":
            _sqlite_setup(self.db_engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def create_schema(self) -> None:
        from sqlmodel import SQLModel

        from engine.store import tables  # noqa: F401  (registers the tables)
        with self.translated():
            SQLModel.metadata.create_all(self.db_engine)

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors become the engine's: one place, as eventsourcing's PEP 249 mapping does."""
        try:
            yield
        except IntegrityError:
            raise  # a lost race on a unique key: the caller knows which (Conflict)
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        except (UnicodeEncodeError, StatementError) as exc:
            # The last line of defence: the engine refuses such text where it enters (engine/limits.py),
            # but a value that slipped past (an environment variable) must not become a traceback.
            if isinstance(exc, UnicodeEncodeError) or isinstance(getattr(exc, "orig", None), UnicodeEncodeError):
                raise InvalidInput("a value is not UTF-8 text (an undecodable byte in an argument or a "
                                   "variable?): give it in UTF-8") from exc
            raise

    def _translate(self, exc: DBAPIError) -> Exception:
        text = _first_line(exc)
        if getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40P01", "40001"):  # deadlock, serialization
            return Conflict(f"a concurrent transaction got in the way ({text}); nothing was written, retry", case_id="")
        if "NUL (0x00)" in text:  # PostgreSQL cannot store NUL; SQLite can: refuse it the same on both
            return InvalidInput("a value holds the control character U+0000 (NUL), which is not allowed")
        if not isinstance(exc, OperationalError):
            return StoreError(f"database error: {text}")
        if any(sign in text for sign in ("no such table", "no such column", "does not exist")):
            return StoreError(f"the database at {self.safe_url} has no tables or an older layout ({text}): "
                              "run `hazard init` on a new database")
        return StoreUnavailable(f"database unavailable ({self.safe_url}): {text}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.translated(), self.db_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        with self.translated(), self.db_engine.connect() as conn:
            conn.execution_options(hazard_write=True)
            with conn.begin():
                yield conn

    @property
    def safe_url(self) -> str:
        return self.db_engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.db_engine.dispose()


def _create(url: str, echo: bool) -> Engine:
    """The engine for a URL the user gave; a URL that is not one of ours is their input to fix, not a crash."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)  # never print a password
    shown = shown if len(shown) <= 80 else shown[:80] + "..."
    try:
        backend = make_url(url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise InvalidInput(f"--db {shown}: only SQLite (sqlite:///FILE) and PostgreSQL "
                               "(postgresql+psycopg://user@host/db) are supported", field="db")
        return create_engine(url, echo=echo, **_engine_options(url))
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise InvalidInput(f"--db {shown}: not a usable database URL ({exc})", field="db") from None


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5}


def _sqlite_setup(db_engine: Engine) -> None:
    @event.listens_for(db_engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event emit BEGIN itself (the pysqlite recipe in SQLAlchemy's docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(db_engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("hazard_write") else "BEGIN")


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
