"""`Engine`: the application a script, the CLI, the ledger import, the reports and a web console all call.

    from engine import Engine

    hz = Engine.open("sqlite:///hazard.db")
    case = hz.commands.report_case(actor="ent", title="液氨储罐区未设泄漏报警", enterprise="某化工有限公司",
                                   region="371721", industry="危险化学品", level="major", source="self_check")
    hz.commands.advance_case(case.id, "assign", actor="zhang", fields={...}, now="2026-03-03T09:00")
    overdue = hz.queries.cases(region="3717", overdue=True).cases
    with hz.batch() as batch:            # many commands, one transaction (import, migration)
        ...

One engine per process (or per web worker) is enough: its registry of parsed definitions is shared and
thread-safe, each command opens its own transaction, and nothing of one call's time or actor stays behind.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Iterator

from engine.app.registry import Registry
from engine.domain.clock import Clock, SystemClock
from engine.store.database import Store

if TYPE_CHECKING:
    from engine.app.unit import UnitOfWork


class Engine:
    def __init__(self, store: Store, *, clock: Clock | None = None, recorded_clock: Clock | None = None,
                 trust_backdating: bool = False):
        """`clock` gives `now` to calls that do not pass one (default: the wall clock); `recorded_clock` stamps
        every event's real recording time and is never a user's to set. `trust_backdating` takes every write
        dated before its recording at its own time, for a program replaying a past period (tests, benches, a
        worked example); no face of the engine sets it (engine.app.backfill says what it changes)."""
        self.store = store
        self.clock = clock or SystemClock()
        self.recorded_clock = recorded_clock or SystemClock()
        self.trust_backdating = trust_backdating
        self.registry = Registry()
        # The evidence files' store (engine.store.files.FileStore); None: HAZARD_FILES, or beside the SQLite file.
        self.files = None

    # Built on first use: a command imports only the part of the application it calls.
    @cached_property
    def commands(self):
        from engine.app.commands import Commands
        return Commands(self)

    @cached_property
    def queries(self):
        from engine.app.queries import Queries
        return Queries(self)

    @cached_property
    def notices(self):
        from engine.app.notices import Notices
        return Notices(self)

    @cached_property
    def audit(self):
        from engine.app.auditor import Auditor
        return Auditor(self)

    @property
    def reports(self):
        """Figures, lists, bulletins, rankings and campaigns (engine/reports/app.py), made on first use."""
        if "_reports" not in self.__dict__:
            from engine.reports.app import Reports
            self._reports = Reports(self)
        return self._reports

    @classmethod
    def open(cls, url: str, *, create: bool = False, clock: Clock | None = None,
             trust_backdating: bool = False) -> "Engine":
        """An engine on the database at `url`; a SQLite file is created only with `create=True`."""
        return cls(Store(url, create=create), clock=clock, trust_backdating=trust_backdating)

    @contextmanager
    def unit(self, *, at_once: bool = False, bulk: bool = False) -> Iterator["UnitOfWork"]:
        """One write transaction; everything the unit holds is written when the block ends without error. With
        `at_once`, WriterBusy instead of waiting for another SQLite writer; `bulk`: one writing a great many rows
        (a ledger import); see `Store.write`."""
        from engine.app.unit import UnitOfWork
        with self.store.write(at_once=at_once, bulk=bulk) as conn:
            unit = UnitOfWork(conn, dialect=self.store.dialect, registry=self.registry,
                              recorded_clock=self.recorded_clock)
            yield unit
            unit.flush()

    @contextmanager
    def batch(self, *, at_once: bool = False):
        """Commands that all run in one transaction: all of them are written, or none. With `at_once`,
        WriterBusy instead of waiting for another SQLite writer (`Store.write`)."""
        from engine.app.commands import Commands
        with self.unit(at_once=at_once) as unit:
            yield Commands(self, unit)

    def sweep(self, *, now=None, dry_run: bool = False, limit: int | None = None, lease=None):
        """One escalation sweep at `now` (default: the engine's clock); see `engine.app.sweep`."""
        from engine.domain.clock import parse_time
        from engine.app.sweep import LEASE, sweep
        if isinstance(now, str):
            now = parse_time(now)
        return sweep(self, now=now, dry_run=dry_run, limit=limit, lease=lease or LEASE)

    def init(self, *, now=None, **options):
        """Create the tables and install the built-in workflows (safe to run again); `options` as
        `Commands.init` takes them (admin=, admin_regions=, require_token=, drill=, actor=)."""
        return self.commands.init(now=now, **options)

    def close(self) -> None:
        self.store.dispose()
