"""The register bench/bench_growth.py grows: template cases made through the engine, copied with COPY.

48 templates (a closed, an open and a due case in each of the 16 cities of the province) are reported and
advanced through the engine's commands; every other case copies one of them with its own id. A copy gets
its own hash chain: the template event's canonical bytes (`engine.domain.events.canonical`) with the case id and
the previous hash replaced, then hashed, which is what `Event.sealed` computes for it (`audit verify`
accepts the copies). Rows go in with COPY through bench/bench_sweep.py's `_Writer`.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweep import _Writer  # noqa: E402

from engine.domain import regions# noqa: E402
from engine.app import Engine# noqa: E402
from engine.domain.case import digest as row_digest# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.domain.events import canonical# noqa: E402
from engine.store import cases as case_store# noqa: E402
from engine.store.tables import cases as cases_table, events as events_table, rungs as rungs_table# noqa: E402

PHOTO = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rectified.png"  # a submit needs evidence
os.environ.setdefault("HAZARD_FILES", tempfile.mkdtemp(prefix="bench-evidence-"))  # PostgreSQL has no default store
CITIES = ("3701", "3702", "3703", "3704", "3705", "3706", "3707", "3708", "3709", "3710", "3711", "3713",
          "3714", "3715", "3716", "3717")
DUE_DEADLINE, OPEN_DEADLINE = "2026-04-30", "2026-12-31"
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装可燃气体泄漏报警装置",
        "funds": "15万", "deadline": "2026-03-31", "emergency_plan": "液氨泄漏专项应急预案"}


def patiently(action):
    """Run `action`, waiting while the shared server has no connection to spare ("too many clients")."""
    for attempt in range(120):
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - the engine's StoreUnavailable and the driver's error alike
            if "too many clients" not in str(error) or attempt == 119:
                raise
            if attempt == 0:
                print("  (the server has no connection to spare: waiting)", file=sys.stderr, flush=True)
            time.sleep(5)


def open_engine(url: str, **options) -> Engine:
    """An engine holding one pooled connection already: later calls reuse it."""
    hz = Engine.open(url, **{"trust_backdating": True, **options})  # the bench replays a past period
    patiently(lambda: hz.store.db_engine.connect().close())
    return hz


def open_store(url: str):
    from engine.store.database import Store
    store = Store(url)
    patiently(lambda: store.db_engine.connect().close())
    return store


# -- templates and copies ------------------------------------------------------------------------------------

@dataclass
class Template:
    """One case's rows as tuples ready for COPY, and where a copy puts its own id and chain."""

    kind: str
    case_row: tuple
    events: list[tuple]
    canon: list[bytes]            # each event's canonical content, hashed by the engine
    rungs: list[tuple]
    old_id: str
    old_prev: list[str]
    case: object = None           # the template's Case: a copy's row digest is the template's under its own id
    updated_at: object = None
    due_at: object = None         # the case's due_at (overdue from then)
    pending: list = field(default_factory=list)  # due times of its pending rungs


def _lifecycle(hz, kind: str, region: str, start) -> str:
    at = lambda hours: start + timedelta(hours=hours)  # noqa: E731
    c = hz.commands
    case = c.report_case(actor="ent37", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                         enterprise="某化工有限公司", region=region, industry="危险化学品", level="major",
                         source="inspection", now=at(0))
    # The open kind's first deadline lies within one extension (90 days) of the one it is extended to.
    deadline = {"closed": FIVE["deadline"], "due": "2026-04-15", "open": "2026-10-15"}[kind]
    c.advance_case(case.id, "assign", actor="prov", fields={**FIVE, "deadline": deadline}, now=at(1))
    c.advance_case(case.id, "start", actor="ent37", now=at(2))
    c.attach(case.id, [str(PHOTO)], actor="prov", kind="rectified", now=at(3))  # submit needs evidence
    c.advance_case(case.id, "submit", actor="prov", fields={"report_note": "已安装"}, now=at(3))
    if kind == "closed":
        c.advance_case(case.id, "verify", actor="prov2", fields={"opinion": "验收合格"}, now=at(4))
        c.advance_case(case.id, "close", actor="prov2", now=at(5))
    else:
        c.advance_case(case.id, "reject", actor="prov2", fields={"opinion": "报警未联锁"}, now=at(4))
        c.extend_deadline(case.id, actor="prov", until=DUE_DEADLINE if kind == "due" else OPEN_DEADLINE,
                          reason="设备到货延迟", now=at(5))
        c.decide(case.id, "extension", "approve", actor="prov2", reason="同意延期", now=at(6))
    return case.id


def make_templates(url: str) -> dict[str, list[Template]]:
    """Three cases per city through the engine; their rows are what every copy repeats."""
    from engine.store import rungs as rung_store
    hz = open_engine(url, clock=FixedClock(parse_time("2026-01-05T09:00")))
    hz.init(admin="li", admin_regions=["37"])
    for name, role in (("ent37", "enterprise"), ("prov", "supervisor"), ("prov2", "supervisor")):
        hz.commands.add_user(name, roles=[role], regions=["37"], actor="li")
    writer = _Writer(hz.store)
    found: dict[str, list[Template]] = {"closed": [], "open": [], "due": []}
    day = parse_time("2026-01-05T09:00")
    for k, city in enumerate(CITIES):
        for kind in found:
            # a county of the city that the national list carries (370802 was merged away in 2013)
            case_id = _lifecycle(hz, kind, regions.children(city)[0], day + timedelta(days=k))
            case, log = hz.queries.case(case_id), hz.queries.history(case_id)
            with hz.store.read() as conn:
                rows = rung_store.of_case(conn, case_id)
            rung_rows = [writer.tuple_of(rungs_table, dict(r._mapping)) for r in rows]
            found[kind].append(Template(
                kind, writer.tuple_of(cases_table, case_store.case_values(case)),
                [writer.tuple_of(events_table, case_store.event_values(e)) for e in log],
                [canonical(e.content()) for e in log], rung_rows, case_id, [e.prev_hash for e in log],
                case, case.updated_at, case.due_at, sorted(r.due_at for r in rows if r.status == "pending")))
    hz.close()
    return found


class Copier:
    """Rows of template copies with their own ids; each event re-hashed as `Event.sealed` would hash it."""

    def __init__(self, writer: _Writer):
        case_cols, event_cols, rung_cols = (writer.columns(t) for t in (cases_table, events_table, rungs_table))
        self.case_id_at, self.case_head_at = case_cols.index("id"), case_cols.index("last_hash")
        self.case_digest_at = case_cols.index("row_hash")
        self.event_id_at, self.event_prev_at = event_cols.index("case_id"), event_cols.index("prev_hash")
        self.event_hash_at, self.rung_id_at = event_cols.index("hash"), rung_cols.index("case_id")

    def copy(self, t: Template, case_id: str, out: tuple[list, list, list]) -> str:
        case_rows, event_rows, rung_rows = out
        old_kv, new_kv = f'"case_id":"{t.old_id}"'.encode(), f'"case_id":"{case_id}"'.encode()
        prev = "0" * 64
        for row, canon, old_prev in zip(t.events, t.canon, t.old_prev):
            content = canon.replace(old_kv, new_kv, 1).replace(
                f'"prev_hash":"{old_prev}"'.encode(), f'"prev_hash":"{prev}"'.encode(), 1)
            digest = hashlib.sha256(content).hexdigest()
            r = list(row)
            r[self.event_id_at], r[self.event_prev_at], r[self.event_hash_at] = case_id, prev, digest
            event_rows.append(tuple(r))
            prev = digest
        r = list(t.case_row)
        r[self.case_id_at], r[self.case_head_at] = case_id, prev
        r[self.case_digest_at] = row_digest(replace(t.case, id=case_id))  # a command checks the row against it
        case_rows.append(tuple(r))
        for row in t.rungs:
            r = list(row)
            r[self.rung_id_at] = case_id
            rung_rows.append(tuple(r))
        return prev


@dataclass
class Plan:
    """Which number is which kind of case: due ones among the first size, 1 in 10 open, the rest closed."""

    first: int                    # the first number seeded by copy (templates take the ones before)
    due: int
    first_size: int

    def kind(self, n: int) -> str:
        step = max((self.first_size - self.first) // max(self.due, 1), 2)
        if self.due and n < self.first + step * self.due and (n - self.first) % step == 0:
            return "due"
        return "open" if n % 10 == 3 else "closed"


def city_of(n: int) -> int:
    """A city for case number n, spread evenly and independent of n's kind (which follows n modulo 10)."""
    return (n * 2654435761 % 2**32) >> 28  # Knuth's multiplicative hash: its top 4 bits


def case_id(n: int) -> str:
    return f"HZ-2026-{n:06d}"


def seed(url: str, templates, plan: Plan, upto_before: int, upto: int, heads: dict, chunk: int = 20_000,
         log=print) -> float:
    """Copies numbered upto_before+1 .. upto; the due ones' heads (id -> last hash, updated_at, events, row
    digest) go into `heads`."""
    started = time.perf_counter()
    store = open_store(url)
    writer = _Writer(store)
    copier = Copier(writer)
    for first in range(upto_before + 1, upto + 1, chunk):
        out: tuple[list, list, list] = ([], [], [])
        for n in range(first, min(first + chunk, upto + 1)):
            kind = plan.kind(n)
            template = templates[kind][city_of(n)]
            head = copier.copy(template, case_id(n), out)
            if kind == "due":
                heads[case_id(n)] = (head, template.updated_at, len(template.events), out[0][-1][copier.case_digest_at])
        writer.write(cases_table, out[0])
        writer.write(events_table, out[1])
        writer.write(rungs_table, out[2])
        log(f"  seeded {min(first + chunk - 1, upto):,} cases ({time.perf_counter() - started:.0f} s)")
    from sqlalchemy import text, update

    from engine.store.tables import counters
    with store.write() as conn:
        conn.execute(update(counters).where(counters.c.year == 2026).values(last=upto))
    with store.db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What a bulk load must end with: fresh statistics, and the visibility map set so that the first
        # readers neither write hint bits nor fetch heap pages for index-only scans.
        conn.execute(text("VACUUM (ANALYZE) hazard_case, case_event, rung"))
    store.dispose()
    return time.perf_counter() - started


def reset_due(url: str, heads: dict) -> None:
    """Undo a sweep of the due cases: no escalate events (nor the messages they set off), rungs pending, case
    rows back at their heads."""
    from sqlalchemy import and_, bindparam, delete, update

    from engine.store.tables import notifications, sweeps
    store = open_store(url)
    ids = sorted(heads)
    (version,) = {v for _, _, v, _ in heads.values()}  # the due template's events, before any sweep
    with store.write() as conn:
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            conn.execute(delete(events_table).where(and_(events_table.c.case_id.in_(chunk),
                                                         events_table.c.seq > version)))
            conn.execute(delete(notifications).where(and_(notifications.c.case_id.in_(chunk),
                                                          notifications.c.seq > version)))
            conn.execute(update(rungs_table).where(and_(rungs_table.c.case_id.in_(chunk),
                                                        rungs_table.c.status.in_(("fired", "skipped")))).values(
                status="pending", fired_at=None, sweep_id=None, claimed_by=None, lease_until=None))
        conn.execute(update(cases_table).where(cases_table.c.id == bindparam("k")).values(
            version=version, fired=[], last_hash=bindparam("h"), updated_at=bindparam("u"), row_hash=bindparam("d")),
            [{"k": k, "h": h, "u": u, "d": d} for k, (h, u, _, d) in heads.items()])
        conn.execute(delete(sweeps))
    store.dispose()


