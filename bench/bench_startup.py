"""A whole `hazard case show` / `hazard case advance` process, against the bare import of the libraries it needs.

    .venv/bin/python bench/bench_startup.py [--runs 15]

A command a supervisor types is a process: interpreter start, imports, one transaction, output. The floor is
the bare import of what any such command must load: SQLAlchemy, its SQLite dialect and the driver (`sqlite3`),
click; for `case advance` the same plus the libraries deciding needs (`transitions`, `yaml`: the definition is
parsed from its stored text; the step timed, `start`, notifies nobody, so no Jinja2). The floor imports with
the cyclic collector paused, as `hazard` itself does (cli/main.py `run`): otherwise the libraries' share of the
command would be cheaper than the floor's and the ratio would flatter the engine. Each figure is the median of
`--runs` runs, the runs of engine and floor interleaved so that a busy machine slows both alike. Goal (issue
8): each command at most 1.3x its floor.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HAZARD = str(BIN / "hazard")
FIVE = ["--set", "responsible_unit=某化工有限公司", "--set", "responsible_person=王五", "--set", "measures=加装报警",
        "--set", "funds=15万", "--set", "deadline=2026-04-30", "--set", "emergency_plan=液氨泄漏专项应急预案"]


def run(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
    return elapsed


def prepare(db: str, cases: int) -> list[str]:
    """A database with `cases` assigned major hazards (through the engine, in one batch)."""
    sys.path.insert(0, str(ROOT))
    from engine.app import Engine
    from engine.domain.clock import FixedClock, parse_time

    hz = Engine.open(db, create=True, clock=FixedClock(parse_time("2026-03-02T09:00")), trust_backdating=True)
    hz.init(admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717")):
        hz.commands.add_user(name, roles=[role], regions=[region], actor="li")
    fields = dict(pair.split("=", 1) for pair in FIVE[1::2])
    ids = []
    with hz.batch() as batch:
        for _ in range(cases):
            case = batch.report_case(actor="ent", title="液氨储罐区未设置泄漏报警装置", enterprise="某化工有限公司",
                                     region="371721", industry="危险化学品", level="major", source="inspection")
            batch.advance_case(case.id, "assign", actor="zhang", fields=fields)
            ids.append(case.id)
    hz.close()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    db = f"sqlite:///{tempfile.mkdtemp(prefix='hazard-startup-')}/hazard.db"
    ids = prepare(db, args.runs + 1)
    python = sys.executable
    bare = "import gc; gc.disable(); import sqlalchemy, sqlalchemy.dialects.sqlite, sqlite3, click"
    floors = {"show": [python, "-c", bare], "advance": [python, "-c", f"{bare}, transitions, yaml"]}
    timings: dict[str, list[float]] = {"show": [], "show floor": [], "advance": [], "advance floor": []}
    # As installed (make install compiles them): the libraries' bytecode is in site-packages, the project's too,
    # and the code of the methods dataclasses writes for the project's classes (cli/dataclass_code.py).
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "engine"), str(ROOT / "cli")], check=True,
                   capture_output=True)
    subprocess.run([python, "-m", "cli.dataclass_code"], check=True, capture_output=True, cwd=ROOT)
    run([HAZARD, "--db", db, "case", "show", ids[0]])  # warm the file cache once
    for i in range(args.runs):
        timings["show floor"].append(run(floors["show"]))
        timings["show"].append(run([HAZARD, "--db", db, "case", "show", ids[0]]))
        timings["advance floor"].append(run(floors["advance"]))
        timings["advance"].append(run([HAZARD, "--db", db, "--actor", "ent", "--now", "2026-03-03T09:00",
                                       "case", "advance", ids[i + 1], "start"]))
    median = {k: statistics.median(v) for k, v in timings.items()}
    print(f"runs: {args.runs} of each, interleaved; median wall time of a whole process")
    for name in ("show", "advance"):
        print(f"case {name:<8}: {median[name] * 1000:7.1f} ms   floor {median[name + ' floor'] * 1000:7.1f} ms   "
              f"({' '.join(floors[name][2:])})")
    ratios = {name: median[name] / median[name + " floor"] for name in ("show", "advance")}
    print(f"ratio    : {max(ratios.values()):8.2f}x the bare imports (show {ratios['show']:.2f}x, "
          f"advance {ratios['advance']:.2f}x; goal 1.3x)")


if __name__ == "__main__":
    main()
