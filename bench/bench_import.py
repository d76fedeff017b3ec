"""`hazard import` throughput: 100,000 rows from CSV and from xlsx into a fresh SQLite file (or PostgreSQL schema),
in rows per second and against a bare insert of the same rows in the same run.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--pg URL] [--keep DIR]

Generation (untimed): the ledgers of bench_ledger_read.py (a title row, a metadata row, dates written several
ways, Excel serials; 15 columns; levels, states and sources mixed as offices keep them).

Engine: `import_ledger` as `hazard import` runs it: read and check every row, then one transaction writing a
case per row, one event per transition to its state, the rungs (those due before the import as skipped, with
their events) and the import record. Reading alone is timed too (`read_ledger`).
Floor, same process: the very rows the import wrote to `hazard_case`, `case_event` and `rung` (read back,
untimed) inserted into a fresh database's same tables, one transaction, the fastest way the driver has:
executemany on SQLite, COPY on PostgreSQL. The floor computes nothing (no reading, checking, folding, hashing,
planning). The floor of cases and events only (what this bench measured against before it counted rung rows)
is printed beside it. Goal: the import at most 2x the floor, CSV under 10 s, xlsx under 5 s of reading.
Figures only; nothing is asserted.

Measured 2026-12-07 on the shared 2-core machine (load 3-7; wall times vary by a fifth or more between runs, CPU
seconds less), the import against the floor of every row (and of cases and events only):
- --rows 20000, SQLite: CSV 12.2 s, 8.2 s CPU, 2.57x (3.6x); xlsx 15.7 s, 11.3 s CPU, 2.44x (4.0x). The code before
  (each event's text columns through value_text, its own recording time, the ladder's working days counted per
  case and rung) in the same window: 18.9 s / 16.1 s, 4.11x / 3.72x (CPU 4.0x / 4.0x the floor's).
- --rows 20000, PostgreSQL: CSV 13.9 s, 2.18x; xlsx 16.8 s, 2.67x (3.0x / 3.1x before).
- --rows 100000, SQLite: CSV 69.5 s, 2.18x (2.8x); xlsx 69.0 s, 2.12x (3.6x); the floor alone 32 s; reading xlsx 7.1 s.
The goals are not met: 2x is near (2.1x-2.7x), and under 10 s at 100,000 rows is out of reach where the bare insert
alone takes 20-32 s. What is left is spread over every event (sealing about 6 us, the fold about 8 us, 4.5 events a
case) and every case (its row encoded and hashed, its plan), each done once; see docs/operations.md.
A second round the same day (load 4-4.5; the floor alone 16-30 s between runs), 100,000 rows, SQLite, CSV / xlsx:
3.51x / 2.62x (CPU 44.1 s / 43.3 s) against the code before in the same window 2.81x / 2.96x and 3.03x / 2.96x (CPU
44.4 s / 50.0 s, 41.8 s / 46.9 s); PostgreSQL 20,000 rows 3.38x / 4.32x against 3.71x / 3.66x: within the noise.
2026-12-08, the import's transaction with a 128 MB SQLite page cache (Store.write(bulk=True); the floor keeps the
default 2 MB), sealing in one format string, instants' texts remembered: the machine at load 2-9 throughout (the
floor alone 3-89 s between runs, ratios from 1.2x to 15x), so only CPU seconds of the import compare, before /
after interleaved: 20,000 rows SQLite CSV 14.2, 14.4, 19.8 / 13.6, 11.2, 9.8 s, xlsx 14.8, 14.6, 17.3 / 13.7,
12.6, 15.2 s; 100,000 rows SQLite CSV 78.8, 79.5 / 72.9, 57.1 s, xlsx 80.9, 72.6 / 68.9, 66.3 s; PostgreSQL 20,000
rows CSV 10.5, 10.8 / 9.2, 10.0 s, xlsx 15.2, 12.7 / 10.7, 9.9 s. The goals stay unmeasured on a quiet machine.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger_read import HEADER, make_rows, write_csv, write_xlsx  # noqa: E402

from engine.app import Engine# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.ledger import read_ledger# noqa: E402
from engine.ledger.app_import import import_ledger# noqa: E402
from engine.store.database import Store# noqa: E402

NOW = "2026-09-01T09:00"   # after every date the generated rows carry
COUNTIES = ["371702", "371703", "371721", "371722", "371723", "371724", "371725", "371726", "371728"]  # 菏泽市
DEFAULTS = {"region": "371721"}


def timed(fn):
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - start, time.process_time() - cpu), result


def fresh(url: str | None, folder: Path, name: str) -> str:
    """A new empty database (schema, built-in workflows, one supervisor); a SQLite file unless `url`."""
    if url is None:
        url = f"sqlite:///{folder / name}.db"
    else:
        from sqlalchemy import create_engine, text
        schema = f"bench_import_{name}"
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    hz = Engine(Store(url, create=True), clock=FixedClock(parse_time(NOW)), trust_backdating=True)
    hz.init(admin="li", admin_regions=["37"])
    hz.commands.add_user("zhang", roles=["supervisor"], regions=["3717"], actor="li")
    hz.close()
    return url


def written_rows(url: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """The rows the import wrote, per table, as the driver gives them back (untimed)."""
    import json
    store = Store(url)
    out = {}
    with store.db_engine.connect() as conn:
        raw = conn.connection.driver_connection
        for table in ("hazard_case", "case_event", "rung"):
            cursor = raw.cursor()
            cursor.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            values = [tuple(r) for r in cursor.fetchall()]
            if not store.is_sqlite:  # psycopg gives JSON back as Python objects: the floor sends it as text
                json_at = {i for i, v in enumerate(values[0]) if isinstance(v, (dict, list))} if values else set()
                values = [tuple(json.dumps(v) if i in json_at else v for i, v in enumerate(r)) for r in values]
            out[table] = (columns, values)
            cursor.close()
    store.dispose()
    return out


def bare_insert(url: str, rows: dict) -> int:
    """Insert the same rows into a fresh database's same tables, one transaction, the fastest way the driver has:
    executemany on SQLite, COPY on PostgreSQL (its executemany, even pipelined, is several times slower)."""
    store = Store(url)
    count = 0
    with store.db_engine.connect() as conn:
        raw = conn.connection.driver_connection
        cursor = raw.cursor()
        if store.is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        for table, (columns, values) in rows.items():
            if store.is_sqlite:
                marks = ", ".join(["?"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)
            else:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
            count += len(values)
        raw.commit()
        cursor.close()
    store.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL: run in schemas there instead of SQLite files")
    parser.add_argument("--keep", help="write the generated files into this directory and keep them")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    n = args.rows
    try:
        rows = make_rows(n)
        for i, row in enumerate(rows):  # the read bench's codes include retired ones, which an import refuses
            row[HEADER.index("行政区划")] = COUNTIES[i % len(COUNTIES)]
        csv_path, xlsx_path = folder / "ledger.csv", folder / "ledger.xlsx"
        write_csv(csv_path, rows)
        write_xlsx(xlsx_path, rows)
        del rows
        print(f"generated {n:,} rows x {len(HEADER)} columns (untimed); database: "
              f"{'PostgreSQL' if args.pg else 'SQLite file'}")
        results = {}
        for kind, path in (("csv", csv_path), ("xlsx", xlsx_path)):
            (read_s, _), _ = timed(lambda: read_ledger(path, defaults=DEFAULTS))
            url = fresh(args.pg, folder, f"import_{kind}")
            hz = Engine(Store(url), clock=FixedClock(parse_time(NOW)), trust_backdating=True)
            (import_s, import_cpu), report = timed(lambda: import_ledger(hz, path, actor="zhang", defaults=DEFAULTS))
            hz.close()
            written = written_rows(url)
            floor_url = fresh(args.pg, folder, f"floor_{kind}")
            (floor_s, floor_cpu), floor_n = timed(lambda: bare_insert(floor_url, written))
            # The floor as this bench measured it before rung rows were counted: cases and events only.
            events_url = fresh(args.pg, folder, f"floor_events_{kind}")
            cases_and_events = {t: written[t] for t in ("hazard_case", "case_event")}
            (events_s, _), _ = timed(lambda: bare_insert(events_url, cases_and_events))
            cases, events = len(written["hazard_case"][1]), len(written["case_event"][1])
            results[kind] = (read_s, import_s, import_cpu, floor_s, floor_cpu, events_s)
            print(f"{kind}: {report.imported:,} cases, {events:,} events, {len(written['rung'][1]):,} rung rows "
                  f"imported ({events / max(cases, 1):.2f} events a case); the floor wrote the same {floor_n:,} rows")
        print(f"{'':34}{'seconds':>9}{'cpu s':>8}{'rows/s':>10}{'x floor':>9}")
        for kind, (read_s, import_s, import_cpu, floor_s, floor_cpu, events_s) in results.items():
            print(f"{kind + ' floor (bare insert)':34}{floor_s:9.2f}{floor_cpu:8.2f}{n / floor_s:10,.0f}{1:9.2f}")
            print(f"{kind + ' floor of cases, events only':34}{events_s:9.2f}{'':8}{n / events_s:10,.0f}"
                  f"{events_s / floor_s:9.2f}")
            print(f"{kind + ' reading alone':34}{read_s:9.2f}{'':8}{n / read_s:10,.0f}{read_s / floor_s:9.2f}")
            print(f"{kind + ' import (read, check, write)':34}{import_s:9.2f}{import_cpu:8.2f}{n / import_s:10,.0f}"
                  f"{import_s / floor_s:9.2f}")
            print(f"{kind + ' import less reading':34}{import_s - read_s:9.2f}{'':8}{n / (import_s - read_s):10,.0f}"
                  f"{(import_s - read_s) / floor_s:9.2f}")
        csv_r, xlsx_r = results["csv"], results["xlsx"]
        print(f"goals    : CSV import {csv_r[1]:.1f} s (under 10 s), xlsx reading {xlsx_r[0]:.1f} s (under 5 s)")
        print(f"cpu      : {csv_r[2] / csv_r[4]:.2f}x the floor's CPU seconds (CSV), {xlsx_r[2] / xlsx_r[4]:.2f}x (xlsx)")
        print(f"ratio    : {csv_r[1] / csv_r[3]:8.2f}x the bare insert (CSV), {xlsx_r[1] / xlsx_r[3]:.2f}x (xlsx); "
              f"{csv_r[1] / csv_r[5]:.2f}x and {xlsx_r[1] / xlsx_r[5]:.2f}x that of cases and events only")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        if args.pg:
            drop_schemas(args.pg)


def drop_schemas(url: str) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as conn:
        for kind in ("csv", "xlsx"):
            for role in ("import", "floor", "floor_events"):
                conn.execute(text(f'DROP SCHEMA IF EXISTS "bench_import_{role}_{kind}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    main()
