"""Growth on PostgreSQL: advance, sweep and the overdue list per operation as the register grows, with plans.

    .venv/bin/python bench/bench_growth.py [--sizes 100000,300000,1000000] [--due 10000] [--workers 8]
    .venv/bin/python bench/bench_growth.py --sizes 20000,60000          # a quick run (a minute or two)

One database grows from size to size (only the difference is seeded each step). Its cases are copies of
48 template cases made through the engine (three per city of the province, 16 cities), each copy with its
own id and its own hash chain (`audit verify` accepts them), written with COPY (bench/growth_seed.py).
Every case has 7 events (the rectification photo is attached before submit, as the shipped workflow requires):
- closed (most):  report, assign, start, attach, submit, verify, close; its 8 rung rows cancelled;
- open (1 in 10 of every size): report, assign, start, attach, submit, reject, extend to 2026-12-31: rectifying;
- due (the `--due` cases, seeded with the first size): as open, extended to 2026-04-30, so the yellow
  warning of each is due at the sweep's time and each is overdue at the list's time.
At each size: EXPLAIN (ANALYZE, BUFFERS) of the engine's own statements (the key lines; `--plans` for all),
the overdue list (`hz.queries.cases(overdue=True, region="3717", now=..., limit=100)`, median of 7), one
sweep (`hz.sweep(now=...)`, which fires the due rungs; then an idle one), and `advance_case` from `--workers`
processes at once, each on cases of its own (submit, verify, close: one unit of work per command, as the
CLI runs them), latency per command. The due cases are reset to unfired before the next size. The list
runs once more with the overdue condition the engine had before its two branches, one comparison
`due_at <= COALESCE(paused_at, :now)` (`coalesce_overdue`, built here), and must return the same cases.

The closing lines print the curve and `ratio    : N.NNx`, the largest growth of a per-operation figure
(advance p50 and p99, sweep time per rung, the engine's overdue list) from the first size to the last:
flat is 1x.

The schema named in the URL (`?options=-csearch_path%3DNAME`) is created first and dropped at the end.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweep import pg_admin, pg_schema  # noqa: E402
from growth_seed import (  # noqa: E402
    CITIES, Plan, case_id, make_templates, open_engine, open_store, patiently, reset_due, seed,
)

from engine.domain.clock import iso, parse_time# noqa: E402
from engine.store import cases as case_store# noqa: E402
from engine.store.tables import cases as cases_table# noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_growth"
LIST_REGION = CITIES[-1]  # 3717: a sixteenth of the register
ADVANCE_AT = parse_time("2026-04-20T09:00")  # the workers' engine time: after every template event
BIG = ("hazard_case", "case_event", "rung")  # the tables that grow with the register


# -- the operations --------------------------------------------------------------------------------------------

STEPS = (("submit", "prov", {"report_note": "已安装并联锁"}, 0), ("verify", "prov2", {"opinion": "验收合格"}, 1),
         ("close", "prov2", {}, 2))


def _advance_worker(url: str, warm: list[str], timed: list[str], barrier, results) -> None:
    """One process of `--workers`: its own engine, each command its own unit of work, latency per command."""
    from engine.domain.errors import HazardError
    hz = open_engine(url)

    def cycle(cid: str, record: list) -> None:
        for trigger, actor, fields, hours in STEPS:
            started = time.perf_counter()
            hz.commands.advance_case(cid, trigger, actor=actor, fields=fields, now=ADVANCE_AT + timedelta(hours=hours))
            record.append(time.perf_counter() - started)

    for cid in warm:  # a connection, the parsed definition, psycopg's prepared statements
        cycle(cid, [])
    barrier.wait()
    latencies, errors = [], 0
    for cid in timed:
        try:
            cycle(cid, latencies)
        except HazardError:
            errors += 1
    results.put((latencies, errors))
    hz.close()


def run_advance(url: str, case_ids: list[str], workers: int) -> dict:
    """Each worker gets its own cases (the first two warm it up); the clock runs from when all are ready."""
    ctx = mp.get_context("spawn")  # nothing of the parent's pool of connections may reach a child
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    per = len(case_ids) // workers
    jobs = [case_ids[i * per:(i + 1) * per] for i in range(workers)]
    procs = [ctx.Process(target=_advance_worker, args=(url, job[:2], job[2:], barrier, results)) for job in jobs]
    for p in procs:
        p.start()
    barrier.wait(timeout=300)
    started = time.perf_counter()
    gathered = [results.get(timeout=900) for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _ in gathered for x in lat)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p99": q[98] * 1000, "per_s": len(latencies) / elapsed, "commands": len(latencies),
            "errors": sum(e for _, e in gathered)}


def run_sweep(url: str, at, expected: int) -> dict:
    hz = open_engine(url)
    started = time.perf_counter()
    counts = hz.sweep(now=at).counts
    seconds = time.perf_counter() - started
    assert counts["fired"] == expected and counts["conflicts"] == 0, (counts, expected)
    started = time.perf_counter()
    assert not hz.sweep(now=at).fired
    idle_ms = (time.perf_counter() - started) * 1000
    hz.close()
    return {"s": seconds, "ms_rung": seconds * 1000 / expected, "idle_ms": idle_ms}


def _median_ms(ask, repeat: int):
    found = ask()  # warm: the connection and the pages
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        found = ask()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, found


def coalesce_overdue(now):
    """The overdue condition before `engine.store.case_search.overdue_at` had its two branches: one comparison,
    `due_at <= COALESCE(paused_at, :now)`, which no index range can serve (kept to measure beside it)."""
    from sqlalchemy import and_, func, literal

    from engine.store.tables import UTCDateTime
    c = cases_table.c
    return and_(c.is_final.is_(False), c.met_at.is_(None), c.rectified_at.is_(None), c.due_at.isnot(None),
                c.due_at <= func.coalesce(c.paused_at, literal(now, UTCDateTime)))


def _coalesce_where(at) -> list:
    from engine.domain.filters import CaseFilter
    from engine.store import case_search
    return case_search.conditions(CaseFilter.of(region=LIST_REGION), at) + [coalesce_overdue(at)]


def _coalesce_page(conn, at) -> tuple[list, int]:
    """What `Queries.cases` does for the overdue list (id order, 100, then the total), with the old condition."""
    where = _coalesce_where(at)
    found = case_store.query(conn, where=where, limit=100)
    return found, (case_store.count_where(conn, where) if len(found) == 100 else len(found))


def run_lists(url: str, at, repeat: int = 7) -> dict:
    """The overdue list of a city as the engine runs it, the same with the old condition, the city's whole list."""
    hz = open_engine(url)
    ms, page = _median_ms(lambda: hz.queries.cases(overdue=True, region=LIST_REGION, now=at, limit=100), repeat)
    city_ms, city = _median_ms(lambda: hz.queries.cases(region=LIST_REGION, now=at, limit=100), 3)

    def before():
        with hz.store.read() as conn:
            return _coalesce_page(conn, at)

    coalesce_ms, (found, total) = _median_ms(before, repeat)
    assert [c.id for c in found] == [c.id for c in page.cases] and total == page.total, "the conditions differ"
    hz.close()
    return {"ms": ms, "total": page.total, "shown": len(page.cases), "coalesce_ms": coalesce_ms, "city_ms": city_ms,
            "city_total": city.total}


# -- query plans of the engine's own statements ----------------------------------------------------------------

class _Capture:
    """Stands in for a connection: keeps the statements a store function builds and answers with `rows` once."""

    def __init__(self, rows=()):
        self.statements, self._rows = [], list(rows)

    def execute(self, statement, *args, **kwargs):
        self.statements.append(statement)
        rows, self._rows = self._rows, []
        return _Answer(rows)


class _Answer(list):
    def scalar_one(self):
        return 0


def engine_statements(at_sweep, at_list, due_id: str, open_id: str) -> list[tuple[str, object, object]]:
    """(name, statement, parameters) of what the list, the sweep and advance run, built by the engine's code;
    parameters None: the values are in the statement; a name: filled from a row of the database."""
    from engine.domain.filters import CaseFilter
    from engine.store import case_search, rungs as rung_store
    spec = CaseFilter.of(overdue=True, region=LIST_REGION, limit=100)
    page, count, before = _Capture(), _Capture(), _Capture()
    case_store.query(page, where=case_search.conditions(spec, at_list), order_by=case_search.order_by(spec), limit=100)
    case_store.count_where(count, case_search.conditions(spec, at_list))
    case_store.query(before, where=_coalesce_where(at_list), limit=100)
    case_store.count_where(before, _coalesce_where(at_list))
    claim, claim_rest = rung_store._CLAIMS[True]
    claiming = {"now": at_sweep, "real_now": at_sweep, "sweep_id": "explain", "lease_until": at_sweep, "limit": 200}
    changed = frozenset({"state", "version", "updated_at", "last_hash"})
    return [("list: page", page.statements[0], None), ("list: total", count.statements[0], None),
            ("coalesce: page", before.statements[0], None), ("coalesce: total", before.statements[1], None),
            ("sweep: claim", claim.statement, claiming), ("sweep: claim more", claim_rest.statement, claiming),
            ("sweep: load cases", "load_many", {"id0": due_id}),
            ("sweep: mark rung", rung_store._MARK.statement, "mark"),
            ("advance: load", case_store._LOAD_FOR.statement, {"case_id": open_id, "actor": "prov"}),
            ("advance: linked", case_store._LINKED.statement, {"case_id": open_id}),
            ("advance: rungs", rung_store._STATES_OF.statement, {"case_id": open_id}),
            ("advance: update", _update_of(changed), "update"),
            ("advance: event", case_store._INSERT_EVENT.statement, "event"),
            ("advance: move rung", rung_store._MOVE.statement, "move")]


def _update_of(columns: frozenset):
    """The UPDATE a step sends (`case_store.update_cases` writes it as plain SQL): the changed columns, by key and
    expected version."""
    from sqlalchemy import and_, bindparam, update
    from engine.store.tables import cases
    return update(cases).where(and_(cases.c.id == bindparam("k_id"), cases.c.version == bindparam("k_expected"))) \
        .values({name: bindparam(f"v_{name}") for name in sorted(columns)})


def explain_all(url: str, at_sweep, at_list, due_id: str, open_id: str) -> list[tuple[str, list[str]]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, in a transaction rolled back: the writes leave nothing."""
    from engine.store import rungs as rung_store
    from engine.store.prepared import Prepared
    store = open_store(url)
    plans = []
    with store.db_engine.connect() as conn:
        transaction = conn.begin()
        case, last = case_store.load(conn, open_id), case_store.events_of(conn, open_id)[-1]
        rung = next(r for r in rung_store.of_case(conn, open_id) if r.status == "pending")
        filled = {"update": {"k_id": open_id, "k_expected": case.version, "v_state": case.state,
                             "v_version": case.version, "v_updated_at": case.updated_at, "v_last_hash": case.last_hash},
                  "event": {**case_store.event_values(last), "seq": 99},
                  "move": {"row_id": rung.id, "new_due_at": rung.due_at, "new_provisional": False,
                           "new_status": "pending"},
                  "mark": {"row_id": rung.id, "new_status": "fired", "fired_at": at_sweep, "sweep_id": "explain"}}
        case_store.load_many_sealed(conn, [due_id])  # prepares the sweep's batch load for one id
        for name, statement, params in engine_statements(at_sweep, at_list, due_id, open_id):
            if statement == "load_many":
                statement = case_store._LOAD_MANY[(1, True)].statement
            cursor = conn.connection.cursor()
            if params is not None:  # one of the engine's prepared statements, with the values it would bind
                compiled = Prepared(statement)._compiled(conn)
                values = filled[params] if isinstance(params, str) else params
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + compiled.sql, compiled._params(values))
            else:                   # a statement the engine builds per call, with its values in it
                sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%%", "%"))
            plans.append((name, [row[0] for row in cursor.fetchall()]))
            cursor.close()
        transaction.rollback()
    store.dispose()
    return plans


def key_lines(plan: list[str]) -> str:
    """The plan's nodes (with the index each uses), its execution time and buffers, on one line."""
    nodes = []
    for line in plan:
        text = line.strip().removeprefix("->").strip()
        if "(cost=" in line:
            nodes.append(text.split("  (")[0])
        elif text.startswith("Index Cond:") and nodes:
            cond = re.sub(r"::[a-z ]+|[()]", "", text.removeprefix("Index Cond: "))
            nodes[-1] += f" [{cond if len(cond) < 110 else cond[:107] + '...'}]"
    timing = next((line.split(":", 1)[1].strip() for line in plan if line.startswith("Execution Time")), "")
    buffers = next((line.strip().removeprefix("Buffers: ") for line in plan if "Buffers:" in line), "")
    return f"{' > '.join(nodes)}  [{timing}; {buffers}]"


def sizes_of(url: str) -> dict:
    from sqlalchemy import text

    store = open_store(url)
    found = {}
    with store.read() as conn:
        for table in ("hazard_case", "case_event", "rung"):
            rows = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            heap, total = conn.execute(text(f"SELECT pg_table_size('{table}'), "
                                            f"pg_total_relation_size('{table}')")).one()
            found[table] = {"rows": rows, "heap": heap, "total": total}
        found["indexes"] = [tuple(r) for r in conn.execute(text(
            "SELECT relname, indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
            "WHERE schemaname = current_schema() ORDER BY relname, indexrelname")) if r[0] in found]
    store.dispose()
    return found


# -- the run ---------------------------------------------------------------------------------------------------

def _times(templates) -> tuple:
    """The sweep's time (30 minutes after the due cases' yellow warning) and the list's (a day into overdue)."""
    due, open_ = templates["due"], templates["open"]
    sweep_at = max(t.pending[0] for t in due) + timedelta(minutes=30)
    assert all(t.pending[1] > sweep_at for t in due) and all(t.pending[0] > sweep_at for t in open_)
    list_at = max(t.due_at for t in due) + timedelta(days=1)
    assert all(t.due_at > list_at for t in open_)
    return sweep_at, list_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000", help="register sizes, growing (cases)")
    parser.add_argument("--due", type=int, default=None, help="cases due at the sweep (default 10000, at most "
                        "a tenth of the first size)")
    parser.add_argument("--workers", type=int, default=8, help="processes advancing cases at once")
    parser.add_argument("--commands", type=int, default=2400, help="timed advance commands per size, all workers")
    parser.add_argument("--db", default=DEFAULT_DB, help="PostgreSQL URL naming a schema of the bench's own")
    parser.add_argument("--plans", action="store_true", help="print every plan in full at every size")
    parser.add_argument("--keep", action="store_true", help="keep the schema at the end")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes != sorted(set(sizes)):
        parser.error("--sizes must grow")
    due = args.due if args.due is not None else min(10_000, sizes[0] // 10)
    schema = pg_schema(args.db)
    if not args.db.startswith("postgresql") or not schema:
        parser.error("--db must be a PostgreSQL URL with ?options=-csearch_path%%3DNAME (a schema of its own)")
    patiently(lambda: pg_admin(args.db, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    patiently(lambda: pg_admin(args.db, f'CREATE SCHEMA "{schema}"'))
    started = time.perf_counter()
    try:
        _run(args.db, sizes, due, args)
    finally:
        if not args.keep:
            patiently(lambda: pg_admin(args.db, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    print(f"run      : {time.perf_counter() - started:8.0f} s in all")


def _load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def _run(url: str, sizes: list[int], due: int, args) -> None:
    from engine.domain.events import verify_chain
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    print(f"database : {url}  ({args.workers} advance workers, {due:,} due, {os.cpu_count()} cores)", flush=True)
    templates = make_templates(url)
    sweep_at, list_at = _times(templates)
    print(f"times    : sweep at {iso(sweep_at)}, overdue list at {iso(list_at)}, advance from {iso(ADVANCE_AT)}")
    first = sum(len(t) for t in templates.values()) + 1
    plan = Plan(first, due, sizes[0])
    columns = [c.name for c in cases_table.columns]
    head_at, digest_at = columns.index("last_hash"), columns.index("row_hash")
    heads = {t.old_id: (t.case_row[head_at], t.updated_at, len(t.events), t.case_row[digest_at])
             for t in templates["due"]}
    rng, used, curve, seeded = random.Random(9), set(), [], first - 1
    for size in sizes:
        seed_s = seed(url, templates, plan, seeded, size, heads, log=log)
        seeded = size
        hz = open_engine(url)
        for n in (first, first + 1, size):  # the copies are real chains: audit verify accepts them
            events = hz.queries.history(case_id(n))
            breaks = list(verify_chain(events, head=(events[-1].seq, hz.queries.case(case_id(n)).last_hash)))
            assert not breaks, breaks
        hz.close()
        info = sizes_of(url)
        print(f"\n== {size:,} cases: seeded in {seed_s:.0f} s; {info['hazard_case']['rows']:,} cases, "
              f"{info['case_event']['rows']:,} events, {info['rung']['rows']:,} rung rows", flush=True)
        for label, table in (("case", "hazard_case"), ("event", "case_event"), ("rung", "rung")):
            t = info[table]
            print(f"bytes    : {label:5s} {t['total'] / t['rows']:6.0f} B/row (table {t['heap'] / t['rows']:.0f} + "
                  f"indexes {(t['total'] - t['heap']) / t['rows']:.0f}), {t['total'] / 2**20:8.1f} MiB")
        fresh = [n for n in range(first, size + 1) if plan.kind(n) == "open" and n not in used]
        chosen = rng.sample(fresh, args.commands // len(STEPS) + 2 * args.workers)
        used.update(chosen)
        lists = run_lists(url, list_at)
        plans = explain_all(url, sweep_at, list_at, sorted(heads)[len(heads) // 2], case_id(chosen[-1]))
        print(f"list     : {lists['ms']:8.2f} ms  overdue in {LIST_REGION} ({lists['shown']} shown of "
              f"{lists['total']:,}; median of 7); with COALESCE (before) {lists['coalesce_ms']:.2f} ms; the city's "
              f"whole list {lists['city_ms']:.2f} ms ({lists['city_total']:,})  [{_load()}]", flush=True)
        swept = run_sweep(url, sweep_at, due + len(templates["due"]))
        print(f"sweep    : {swept['s']:8.2f} s  {due + len(templates['due']):,} rungs fired, {swept['ms_rung']:.3f} "
              f"ms/rung; idle sweep {swept['idle_ms']:.1f} ms  [{_load()}]", flush=True)
        advanced = run_advance(url, [case_id(n) for n in chosen], args.workers)
        print(f"advance  : p50 {advanced['p50']:6.2f} ms  p99 {advanced['p99']:6.2f} ms  {advanced['per_s']:5.0f} "
              f"commands/s  ({advanced['commands']:,} from {args.workers} processes, {advanced['errors']} refused)"
              f"  [{_load()}]", flush=True)
        for name, lines in plans:
            print(f"plan     : {name:18s} {key_lines(lines)}")
            if args.plans or size == sizes[-1]:
                print("\n".join("           " + line for line in lines))
        seq = [name for name, lines in plans if any(f"Seq Scan on {t} " in line for t in BIG for line in lines)]
        print(f"seq scan : {', '.join(seq) or 'none'} (on {', '.join(BIG)})")
        if size == sizes[-1]:
            for table, index, nbytes in info["indexes"]:
                print(f"index    : {table:12s} {index:28s} {nbytes / 2**20:8.1f} MiB  "
                      f"{nbytes / info[table]['rows']:4.0f} B/row")
        else:
            reset_due(url, heads)
        total = sum(info[t]["total"] for t in ("hazard_case", "case_event", "rung"))
        curve.append((size, advanced, swept, lists, total))
    _print_curve(curve)


def _print_curve(curve) -> None:
    print("\ncurve    :     cases  adv p50 ms  adv p99 ms  adv cmd/s  sweep s  ms/rung  list ms  coalesce ms (before)"
          "   db MiB")
    for size, adv, sw, li, nbytes in curve:
        print(f"curve    : {size:9,}  {adv['p50']:10.2f}  {adv['p99']:10.2f}  {adv['per_s']:9.0f}  {sw['s']:7.2f}  "
              f"{sw['ms_rung']:7.3f}  {li['ms']:7.2f}  {li['coalesce_ms']:20.2f}  {nbytes / 2**20:7.0f}")
    (n0, a0, s0, l0, _), (n1, a1, s1, l1, _) = curve[0], curve[-1]
    growth = {"advance p50": a1["p50"] / a0["p50"], "advance p99": a1["p99"] / a0["p99"],
              "sweep per rung": s1["ms_rung"] / s0["ms_rung"], "overdue list": l1["ms"] / l0["ms"]}
    worst = max(growth, key=growth.get)
    print(f"growth   : {', '.join(f'{k} {v:.2f}x' for k, v in growth.items())}; overdue list with COALESCE (before) "
          f"{l1['coalesce_ms'] / l0['coalesce_ms']:.2f}x ({n0:,} -> {n1:,} cases)")
    print(f"ratio    : {growth[worst]:8.2f}x largest growth per operation ({worst}), {n0:,} -> {n1:,} cases")


if __name__ == "__main__":
    main()
