"""我的待办 of a supervisor with N open cases in her region (default 10,000): `engine.queries.work_for` and the
page `/` through the ASGI application, p50/p99 over repeated calls. Goal: under 50 ms for 10,000 open cases.

    .venv/bin/python bench/bench_work.py                         # SQLite in a temporary file
    .venv/bin/python bench/bench_work.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --cases 10000

The cases are reported and assigned through the engine in batches (a few seconds per thousand), a quarter of
them past their deadline; bounded: at most 50,000 cases and 200 timed calls.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app import Engine  # noqa: E402
from engine.domain.clock import FixedClock, parse_time  # noqa: E402
from engine.store.database import Store  # noqa: E402

START, LATER = "2026-03-02T09:00", "2026-03-20T09:00"
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装报警装置",
        "funds": "15万", "deadline": "2026-05-29", "emergency_plan": "专项应急预案"}


def seed(url: str, count: int) -> Engine:
    engine = Engine(Store(url, create=True), clock=FixedClock(parse_time(START)), trust_backdating=True)
    engine.init(admin="li", admin_regions=["37"])
    engine.commands.add_user("zhang", roles=["supervisor"], regions=["3717"], actor="li")
    engine.commands.add_user("ent", roles=["enterprise"], regions=["371721"], actor="li")
    done = 0
    while done < count:
        with engine.batch() as batch:
            for n in range(done, min(done + 500, count)):
                deadline = "2026-03-10" if n % 4 == 0 else "2026-06-30"
                case = batch.report_case(actor="ent", workflow="major-hazard", title=f"隐患 {n}",
                                         enterprise=f"企业{n % 300}", region="371721", industry="危险化学品",
                                         level="major", source="inspection", fields={"deadline": deadline})
                if n % 2:
                    batch.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
        done = min(done + 500, count)
    engine.clock = FixedClock(parse_time(LATER))
    if engine.store.dialect == "postgresql":
        # What autovacuum does within a minute of a bulk load: statistics, and the visibility map an index-only
        # scan needs (without it every index entry of 我的待办's reads fetches its row too).
        with engine.store.db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE hazard_case")
            conn.exec_driver_sql("VACUUM ANALYZE rung")
    return engine


def raw_page(engine, ids: list[str]) -> list:
    """What any 我的待办 must do at least: read its page's case rows (by key, one statement)."""
    from sqlalchemy import text
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    with engine.store.db_engine.connect() as conn:
        return conn.execute(text(f"SELECT * FROM hazard_case WHERE id IN ({marks})"),
                            {f"i{n}": i for n, i in enumerate(ids)}).all()


def timed(action, runs: int) -> tuple[float, float]:
    action()  # warm: definitions parsed, statements compiled
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    count, runs = min(args.cases, 50_000), min(args.runs, 200)
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='hz-bench-work-')}/work.db"
    began = time.perf_counter()
    engine = seed(url, count)
    print(f"seeded {count} open cases in 371721 in {time.perf_counter() - began:.1f} s ({engine.store.dialect})")
    found = engine.queries.work_for("zhang")
    print(f"zhang: {found.counts}")
    p50, p99 = timed(lambda: engine.queries.work_for("zhang"), runs)
    print(f"work_for (engine):       p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    floor = timed(lambda: raw_page(engine, [item.case.id for item in found.items]), runs)[0]
    print(f"floor (the page's {len(found.items)} rows read by id, raw SQL): p50 {floor:6.1f} ms   "
          f"work_for {p50 / max(floor, 1e-3):.1f}x floor")

    import warnings
    warnings.filterwarnings("ignore")
    from fastapi.testclient import TestClient

    from web.app import create_app
    engine.commands.set_password("zhang", "bench password 1", actor="li")
    with TestClient(create_app(engine)) as client:
        page = client.get("/login")
        token = page.text.split('name="login_token" value="')[1].split('"')[0]
        client.post("/login", data={"name": "zhang", "password": "bench password 1", "login_token": token})
        assert client.get("/").status_code == 200
        p50, p99 = timed(lambda: client.get("/"), runs)
    print(f"GET / (ASGI, rendered):  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    engine.close()


if __name__ == "__main__":
    main()
