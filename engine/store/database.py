"""The database at the edge: the SQLAlchemy engine from a URL, transactions, and driver errors translated.

SQLite (the embedded default) gets WAL, `synchronous=NORMAL`, a busy timeout and foreign keys on every
connection, and write transactions start with `BEGIN IMMEDIATE` so a read-then-write transaction never
fails half-way with SQLITE_BUSY. PostgreSQL serves several processes or machines sharing the work.

Opening a SQLite file that does not exist creates nothing unless asked (`create=True`, which `init` does):
a typo in a path must not leave an empty database behind. A file it creates is its owner's only (0600).
"""
from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager, nullcontext
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError, StatementError

from engine.domain.errors import Conflict, InvalidInput, StoreError, StoreUnavailable, WriterBusy

# The advisory lock PostgreSQL's database set-ups take in turn (any constant; "hazard" in ASCII).
SCHEMA_LOCK = 0x68617A617264
BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another to finish before it gives up

DEFAULT_URL = "sqlite:///hazard.db"
# The databases this release runs on, by SQLAlchemy's backend name: the driver each needs (installed with it).
SUPPORTED = {"sqlite": "pysqlite", "postgresql": "psycopg"}
_SUPPORTED_TEXT = "SQLite (sqlite:///hazard.db, or a file path) and PostgreSQL (postgresql+psycopg://user@host/db)"


def normalise_url(url: str) -> str:
    """Accept a bare file path or `postgresql://` and give SQLAlchemy the driver we ship."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False, create: bool = False):
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except Exception:  # noqa: BLE001 - SQLAlchemy raises ArgumentError and ValueError alike
            raise StoreError(f"'{_no_password(url)}' is not a database URL (e.g. sqlite:///hazard.db or "
                             "postgresql+psycopg://user@host/db)", rule="url") from None
        backend, _, driver = parsed.drivername.partition("+")
        if backend not in SUPPORTED or driver not in ("", SUPPORTED[backend]):
            what = f"the driver {driver} of {backend}" if backend in SUPPORTED else f"{backend}"
            raise StoreError(f"cannot open {_no_password(self.url)}: {what} is not supported; the databases "
                             f"supported are {_SUPPORTED_TEXT}", rule="url")
        self.path = _sqlite_file(parsed)
        self.made_file = False  # this Store created the SQLite file (a refused `init` takes it away again)
        if self.path is not None and not os.path.exists(self.path):
            if not create:
                raise StoreUnavailable(f"there is no database at {self.path}", rule="no-database")
            _create_private(self.path)
            self.made_file = True
        try:
            self.db_engine: Engine = create_engine(self.url, echo=echo, **_engine_options(self.url))
        except Exception as exc:  # noqa: BLE001 - an unknown driver name, a bad option
            raise StoreError(f"cannot open {_no_password(self.url)}: {exc}", rule="url") from None
        self.dialect = self.db_engine.dialect.name
        self._writer: _HeldWriter | None = None
        if self.dialect == "sqlite":
            _sqlite_setup(self.db_engine)
            if self.path is not None:
                self._writer = _HeldWriter(self.db_engine)

    def discard_made_file(self) -> None:
        """Close, and delete the SQLite file this Store created with its companions: what a refused first
        `init` leaves is no half-made database. A file that was there before is never touched."""
        self.dispose()
        if self.made_file:
            for leftover in (self.path, f"{self.path}-wal", f"{self.path}-shm", f"{self.path}-journal"):
                if os.path.exists(leftover):
                    os.remove(leftover)
            self.made_file = False

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def create_schema(self) -> None:
        """Create every table that is missing, on a new database or one at this release's revision (a new
        one is stamped with it); an older release's database is refused. Two processes at once both succeed."""
        from sqlmodel import SQLModel

        import engine.store.campaign_records  # noqa: F401 - registers its table with SQLModel's metadata
        import engine.store.records  # noqa: F401 - likewise the ledger imports' record
        from engine.store import schema
        from engine.store.tables import METADATA, declare_partial_indexes
        declare_partial_indexes()
        # One write transaction for the look, the tables and the stamp, with other creators kept out (SQLite's
        # BEGIN IMMEDIATE, PostgreSQL's advisory lock; DDL is transactional on both): a second `init` waits,
        # then finds the database made and stamped, never half made.
        with self.write() as conn:
            take_setup_lock(conn)
            revision = schema.revision_of(conn)
            schema.refuse_older(revision, self.safe_url)
            METADATA.create_all(conn)
            SQLModel.metadata.create_all(conn)
            if revision is None:
                schema.stamp_head(conn)

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors become the engine's: one place, as eventsourcing's PEP 249 mapping does."""
        try:
            yield
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        except (UnicodeEncodeError, StatementError) as exc:
            # The last line of defence: the engine refuses such text where it enters (engine/domain/limits.py),
            # but a value that slipped past (an environment variable) must not become a traceback.
            if isinstance(exc, UnicodeEncodeError) or isinstance(getattr(exc, "orig", None), UnicodeEncodeError):
                raise InvalidInput("a value is not UTF-8 text (an undecodable byte in an argument or a "
                                   "variable?): give it in UTF-8") from exc
            raise

    def _translate(self, exc: DBAPIError) -> Exception:
        text = _first_line(exc)
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if sqlstate in ("40P01", "40001"):  # deadlock, serialization failure
            return Conflict(f"a concurrent transaction got in the way ({text}); nothing was written, retry", case_id="")
        if "NUL (0x00)" in text:  # PostgreSQL cannot store NUL; SQLite can: refuse it the same on both
            return InvalidInput("a value holds the control character U+0000 (NUL), which is not allowed")
        unique = sqlstate == "23505" or "UNIQUE constraint failed" in text
        if (isinstance(exc, IntegrityError) and unique) or sqlstate == "42P07" or "already exists" in text:
            # A unique key settled a race (two `init`s creating one table, two writers of one row).
            return Conflict(f"another writer got there first ({text}); nothing was written, retry", case_id="")
        if sqlstate == "3D000" or re.search(r'database ".*" does not exist', text):  # PostgreSQL: no such database
            return StoreUnavailable(f"there is no database at {self.safe_url} ({text})", rule="no-database")
        if sqlstate in ("42P01", "42703") or (
                any(sign in text for sign in ("no such table", "no such column", "has no column named", "does not exist"))
                and isinstance(exc, (OperationalError, ProgrammingError))):
            return StoreError(f"the database at {self.safe_url} has no tables or an older layout ({text})",
                              rule="no-tables")
        if not isinstance(exc, OperationalError):
            return StoreError(f"database error: {text}")
        return StoreUnavailable(f"database unavailable ({self.safe_url}): {text}", rule="unavailable")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.translated(), self.db_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self, *, at_once: bool = False, bulk: bool = False) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception.

        `at_once` (SQLite): take the database's write lock now or raise WriterBusy, without waiting the busy
        timeout for another writer to finish; a caller that must not block (a web server's event loop) then
        runs the write where waiting is harmless. On PostgreSQL it changes nothing: row locks are met later.
        `bulk`: a transaction writing a great many rows (a ledger import), given a larger page cache while it
        lasts."""
        mode = "at_once" if at_once else True
        held = self._writer.take(at_once=at_once) if self._writer is not None else None
        if held is not None:
            try:
                held.execution_options(hazard_write=mode)
                with self.translated(), _bulk_cache(held) if bulk else nullcontext(), held.begin():
                    yield held
            finally:
                self._writer.give_back(held)
            return
        with self.translated(), self.db_engine.connect() as conn:
            conn.execution_options(hazard_write=mode)
            with _bulk_cache(conn) if bulk else nullcontext(), conn.begin():
                yield conn

    @property
    def safe_url(self) -> str:
        return self.db_engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.db_engine.dispose()


class _HeldWriter:
    """One connection a SQLite file's write transactions take in turn, kept open between them.

    SQLite runs one write transaction at a time (BEGIN IMMEDIATE), so writers of one process lose nothing by taking
    turns on one connection; each of them saved checking a connection out of the pool and back in, which cost an
    advance several times what SQLite needs to begin and commit (issue 23). A writer that cannot have it at once
    within HOLD_WAIT seconds (a long import holds it), or that writes while already writing (it would wait for
    itself), or in a forked child, takes a pooled connection as before: SQLite's own lock and busy timeout order
    those. A connection a failed transaction may have broken is closed and replaced."""

    HOLD_WAIT = 1.0

    def __init__(self, db_engine: Engine):
        import threading
        self._engine = db_engine
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._owner: int | None = None   # the thread writing on it now
        self._pid = os.getpid()

    def take(self, *, at_once: bool = False) -> Connection | None:
        """The held connection, or None for a pooled one; with `at_once`, WriterBusy when another thread of this
        process is writing on it (waiting for it is what an `at_once` writer must not do)."""
        import threading
        me = threading.get_ident()
        if self._owner == me or os.getpid() != self._pid:
            return None
        if at_once and not self._lock.acquire(blocking=False):
            raise WriterBusy("another writer of this process holds the database's write lock")
        if not at_once and not self._lock.acquire(timeout=self.HOLD_WAIT):
            return None
        try:
            conn = self._conn
            if conn is None or conn.closed or conn.invalidated:
                conn = self._conn = self._engine.connect()  # `write` sets its hazard_write each time
            self._owner = me
            return conn
        except BaseException:
            self._lock.release()
            raise

    def give_back(self, conn: Connection) -> None:
        try:
            if conn.in_transaction() or conn.invalidated:  # a rollback that failed, a broken connection
                self._conn = None
                conn.close()
        finally:
            self._owner = None
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# The page cache of a bulk write on SQLite (KiB, as `PRAGMA cache_size` takes a negative number): its default,
# 2 MB, holds a small part of the indexes of the cases, events and rungs an import writes (a dozen, their keys
# in no common order), and SQLite then spills pages to the WAL file and reads them back many times before the
# commit. Memory only, taken as pages are used: durability is the same (synchronous, WAL, fsync at commit).
BULK_CACHE_KIB = 131072


@contextmanager
def _bulk_cache(conn: Connection) -> Iterator[None]:
    """A SQLite connection's page cache at BULK_CACHE_KIB until the transaction inside has ended (committed or
    rolled back), then as it was; nothing on PostgreSQL (its shared buffers are the server's)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    (was,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        try:
            raw.execute(f"PRAGMA cache_size={int(was)}")
        except conn.dialect.dbapi.Error:
            pass  # a connection that broke meanwhile: the error that broke it is the one to report


def take_setup_lock(conn: Connection) -> None:
    """Keep other processes setting the database up (`init`: its tables, then its built-ins and first
    administrator) out until this transaction ends. SQLite's write transactions take turns already
    (BEGIN IMMEDIATE); PostgreSQL's need an advisory lock, as read committed lets two look at once."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


def sqlite_file_of(url: str) -> str | None:
    """The file a SQLite database URL names (None for other backends, memory databases, or no URL at all)."""
    try:
        return _sqlite_file(make_url(url))
    except Exception:  # noqa: BLE001 - a URL that is not one is the Store's to report
        return None


def _sqlite_file(url) -> str | None:
    """The file a SQLite URL names, or None for memory databases and other backends."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def _create_private(path: str) -> None:
    """Make a new SQLite file readable and writable by its owner only (0600): it holds password hashes and the
    whole register. SQLite gives its -wal, -shm and -journal files the database file's mode, so they follow. An
    existing file keeps its mode (an office may have given a group access on purpose)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another `init` made it a moment ago, with the same mode
    except OSError:
        pass  # no such folder, no permission: SQLite's own error says so when it opens the file


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5}


def _sqlite_setup(db_engine: Engine) -> None:
    @event.listens_for(db_engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event emit BEGIN itself (the pysqlite recipe in SQLAlchemy's docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={BUSY_TIMEOUT_MS}", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(db_engine, "begin")
    def on_begin(conn):
        # On the driver's connection itself: this runs once per command, and SQLAlchemy's execution of a
        # statement costs several times what SQLite needs to begin a transaction.
        write = conn.get_execution_options().get("hazard_write")
        driver = conn.connection.driver_connection
        if write != "at_once":
            driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            return
        # Ask for the write lock without waiting: only BEGIN IMMEDIATE waits for it (in WAL mode neither a read
        # nor the commit waits for anybody), so the busy timeout is back before any other statement runs.
        driver.execute("PRAGMA busy_timeout=0")
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise WriterBusy("another writer holds the database's write lock") from None
            raise
        finally:
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _no_password(url: str) -> str:
    """A URL as an error message may show it: never with its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
