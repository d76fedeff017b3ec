"""The same hazard lifecycle through the engine and through the libraries a user might pick instead, against the floor.

    .venv/bin/pip install -e '.[bench]'      # python-statemachine and SpiffWorkflow (`make install` does it)
    .venv/bin/python bench/bench_peers.py [--cases 300] [--repeat 3] [--rows raw,engine,...] [--db-dir DIR]

The workload, alike for every row (adapted from the harness in ../shared/peer-bench/): N cases reported, then,
phase by phase as users acting over time would (all assigns, then all starts, ...), assigned with the five
implementations (responsible unit and person, measures, funds, deadline, emergency plan: a guard refuses a missing
or blank one), started, submitted, verified and closed, on a fresh SQLite file (WAL, synchronous=NORMAL) per run.
Each peer command reads the case row and its chain head, decides with its library, updates the case
`WHERE version = ?` and inserts the event, hash-chained with SHA-256 over its canonical JSON.
- raw sqlite3 floor: no library, a dict of (state, trigger) -> state and the guard function.
- transitions, one shared Machine (`model=None`, fired as `machine.events[t].trigger(obj)`), and a Machine built per
  command (its defaults, as the naive usage is); python-statemachine, an instance per command; SpiffWorkflow, a BPMN
  process (bench/major_hazard.bpmn) serialized to JSON in the case row and read back per command; the SQLAlchemy
  ORM (a Session per command, `version_id_col`) with the shared transitions Machine.
- hazard-closure through `engine.Engine` on the shipped major-hazard workflow: `report_case`, then
  `advance_case` (roles, regions, fields and guards, the rectification order numbered at assign, 8 rung rows per
  case and their moves), with the evidence photo attached before submit, as the workflow requires (counted in
  the submit phase: one more command per case than the peers).
Modes: per command (a transaction each) and one batch (all commands of a run in one transaction; the engine's
`Engine.batch()`). Correctness before time: first an untimed check per row (close from reported, assign without
funds or with a blank plan, an unknown trigger and close on a closed case are refused, and leave nothing behind),
then after every timed run: every case closed, its events whole and in lifecycle order, every chain recomputed;
for the engine `audit verify` (no break) and `audit replay --all` (every case and rung row = the fold of its
events). A run that fails stops the bench; no figure is printed for it.
Figures: transitions per second over the five transition phases (reporting is not counted), the best of
`--repeat` runs, the runs interleaved (each round runs every row once per mode, starting one row later than the
round before) so a slow patch of this shared machine hits every row alike; all rows run in this one process, the
objects alive before a run frozen out of its garbage collections; `x floor` is the row's time over the raw
row's in the same mode. Compare ratios within one run, not across runs.

Figures on this 2-core machine, loaded by other jobs (2026-12-07, the defaults: 300 cases, best of 3, 92 s):

| row | per command, trans/s | x floor | one batch, trans/s | x floor |
|---|---|---|---|---|
| raw sqlite3 floor | 16441 | 1.00x | 44637 | 1.00x |
| transitions, one shared Machine | 13859 | 1.19x | 28542 | 1.56x |
| transitions, a Machine per command | 3357 | 4.90x | 4219 | 10.58x |
| python-statemachine | 1549 | 10.61x | 3640 | 12.26x |
| SpiffWorkflow (BPMN) | 683 | 24.07x | 1118 | 39.91x |
| SQLAlchemy ORM + transitions | 869 | 18.91x | 1468 | 30.41x |
| hazard-closure, through `engine.Engine` | 561 | 29.30x | 872 | 51.20x |

The engine's time includes what no peer does: the rectification order numbered and rendered at assign (its
template compiled at every assign, about 2 ms), the photo attached and stored before submit, 8 rung rows a case.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peer_rows import (TRIGGERS, Case, Floor, OrmRunner, PythonStatemachine, Rejected, Spiff,  # noqa: E402
                       SqliteRunner, TransitionsPerCommand, TransitionsShared)


class EngineRunner:
    """hazard-closure through `engine.Engine`: the workflow decides; only the peers' notes become its fields."""

    ACTORS = {"assign": "zhang", "start": "ent", "submit": "ent", "verify": "liu", "close": "li"}
    EXPECTED = ["report", "assign", "start", "attach", "submit", "verify", "close"]

    def open(self, path):
        from bench_lifecycle import PHOTO, new_engine  # the same engine, users and clock as that bench
        self.engine, self.photo, self.ids = new_engine(f"sqlite:///{path}"), str(PHOTO), {}
        self.commands, self._batch = self.engine.commands, None

    def close(self):
        self.engine.close()

    def begin_batch(self):
        self._batch = self.engine.batch()
        self.commands = self._batch.__enter__()

    def commit_batch(self):
        self._batch.__exit__(None, None, None)

    def create(self, case):
        self.ids[case.id] = self.commands.report_case(
            actor="ent", workflow="major-hazard", title=case.title, enterprise=f"enterprise-{case.fields['reporter']}",
            region="371721", industry="工贸", level="major", source="inspection").id

    def command(self, case, trigger, payload=None):
        from engine.domain.errors import HazardError
        payload = case.payloads.get(trigger, {}) if payload is None else payload
        fields = {"assign": payload, "submit": {"report_note": "evidence: " + ", ".join(payload.get("evidence", []))},
                  "verify": {"opinion": f"{payload.get('result')} ({payload.get('verifier')})"},
                  "close": {"closing_note": payload.get("note", "")}}.get(trigger, {})
        case_id = self.ids[case.id]
        try:
            if trigger == "submit":  # the shipped workflow submits on evidence: the rectification photo first
                self.commands.attach(case_id, [self.photo], actor="ent", kind="rectified")
            self.commands.advance_case(case_id, trigger, actor=self.ACTORS.get(trigger, "zhang"), fields=fields)
        except HazardError as exc:
            raise Rejected(f"{type(exc).__name__}: {exc}")

    def verify(self, path, n):
        """n cases closed, each with exactly its seven events in order; `audit verify` finds no break and
        `audit replay --all` no disagreement (case rows and rung rows = the fold of the events)."""
        conn = sqlite3.connect(path)
        try:
            (closed,) = conn.execute("SELECT count(*) FROM hazard_case WHERE state = 'closed'").fetchone()
            assert closed == n == conn.execute("SELECT count(*) FROM hazard_case").fetchone()[0], f"{closed} closed"
            logs = {}
            for cid, trig in conn.execute("SELECT case_id, trigger FROM case_event ORDER BY case_id, seq"):
                logs.setdefault(cid, []).append(trig)
            assert len(logs) == n and all(log == self.EXPECTED for log in logs.values()), "a case's log is not whole"
        finally:
            conn.close()
        from engine.app import Engine
        from engine.store.database import Store
        engine = Engine(Store(f"sqlite:///{path}"))
        try:
            breaks = engine.audit.verify().breaks
            assert not breaks, f"audit verify: {breaks[:3]}"
            replayed = engine.audit.replay_all()
            assert replayed.cases == n and not replayed.disagreements, f"replay: {replayed.disagreements[:3]}"
        finally:
            engine.close()


ROWS = {  # key: (label, runner factory, the modules it needs: PyPI name)
    "raw": ("raw sqlite3 floor", lambda: SqliteRunner(Floor()), {}),
    "transitions-shared": ("transitions, one shared Machine", lambda: SqliteRunner(TransitionsShared()), {}),
    "transitions-per-command": ("transitions, a Machine per command", lambda: SqliteRunner(TransitionsPerCommand()),
                                {}),
    "statemachine": ("python-statemachine", lambda: SqliteRunner(PythonStatemachine()),
                     {"statemachine": "python-statemachine"}),
    "spiff": ("SpiffWorkflow (BPMN)", lambda: SqliteRunner(Spiff()), {"SpiffWorkflow": "SpiffWorkflow"}),
    "orm": ("SQLAlchemy ORM + transitions", OrmRunner, {}),
    "engine": ("hazard-closure, through `engine.Engine`", EngineRunner, {}),
}


# -- running -----------------------------------------------------------------------------------------------------
def selfcheck(factory, folder: Path) -> None:
    """Untimed: wrong-state, unknown and incomplete commands are refused and leave nothing; one case closes."""
    runner, path = factory(), str(folder / "selfcheck.db")
    runner.open(path)
    case = Case(0)
    runner.create(case)
    five = case.payloads["assign"]
    for trigger, payload in [("close", {}), ("assign", {k: v for k, v in five.items() if k != "funds"}),
                             ("assign", {**five, "emergency_plan": "   "}), ("no-such-trigger", {})]:
        try:
            runner.command(case, trigger, payload)
        except Rejected:
            continue
        raise AssertionError(f"{trigger} with {payload} was not refused")
    for trigger in TRIGGERS:
        runner.command(case, trigger)
    try:
        runner.command(case, "close")
        raise AssertionError("close on a closed case was not refused")
    except Rejected:
        pass
    runner.close()
    runner.verify(path, 1)


def one_run(factory, cases: list[Case], batch: bool, folder: Path) -> float:
    """The transition phases' seconds of one verified run on a fresh database."""
    path = str(folder / "run.db")
    runner = factory()
    runner.open(path)
    gc.collect()
    gc.freeze()  # what lived before the run (every row's imports) is not walked by its collections: as in a process
    if batch:
        runner.begin_batch()
    for case in cases:
        runner.create(case)
    start = time.perf_counter()
    for trigger in TRIGGERS:
        for case in cases:
            runner.command(case, trigger)
    if batch:
        runner.commit_batch()
    took = time.perf_counter() - start
    gc.unfreeze()
    runner.close()
    runner.verify(path, len(cases))
    return took


def missing_libraries(rows: list[str]) -> list[str]:
    return sorted({dist for row in rows for module, dist in ROWS[row][2].items()
                   if importlib.util.find_spec(module) is None})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300, help="cases per run (default 300: about a minute in all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each row and mode, interleaved; the best counts")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma list of rows (default all): {','.join(ROWS)}")
    parser.add_argument("--db-dir", default=None, help="where the SQLite files go (default: a temporary folder)")
    args = parser.parse_args()
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in ROWS]
    if unknown or "raw" not in rows:
        parser.error(f"--rows: {', '.join(unknown) or 'raw (the floor) is needed'}; rows: {', '.join(ROWS)}")
    missing = missing_libraries(rows)
    if missing:
        print(f"bench_peers: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed "
              f"(the `bench` extra): "
              f".venv/bin/pip install -e '.[bench]' (make install does it), or leave out their rows: "
              f"--rows {','.join(r for r in ROWS if not set(ROWS[r][2].values()) & set(missing))}", file=sys.stderr)
        return 2
    folder = Path(args.db_dir or tempfile.mkdtemp(prefix="bench-peers-"))
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        selfcheck(ROWS[row][1], folder)
        os.remove(folder / "selfcheck.db")
    cases = [Case(i) for i in range(1, args.cases + 1)]
    times: dict[tuple[str, bool], list[float]] = {}
    for round_ in range(args.repeat):
        for batch in (False, True):
            for row in rows[round_ % len(rows):] + rows[:round_ % len(rows)]:  # each round starts one row later
                took = one_run(ROWS[row][1], cases, batch, folder)
                times.setdefault((row, batch), []).append(took)
                for name in os.listdir(folder):
                    os.remove(folder / name)
                print(f"  round {round_ + 1}/{args.repeat} {'batch' if batch else 'per command':<11} {row:<24}"
                      f" {len(TRIGGERS) * len(cases) / took:8.0f} transitions/s", file=sys.stderr)
    if not args.db_dir:
        shutil.rmtree(folder, ignore_errors=True)
    best = {key: min(runs) for key, runs in times.items()}
    n = len(TRIGGERS) * len(cases)
    print(f"{len(cases)} cases, {n} transitions a run (assign, start, submit, verify, close), SQLite file, "
          f"best of {args.repeat} interleaved runs, every run verified")
    print(f"| row | per command, trans/s | x floor | one batch, trans/s | x floor |\n|---|---|---|---|---|")
    for row in rows:
        cells = [f"{n / best[(row, b)]:.0f} | {best[(row, b)] / best[('raw', b)]:.2f}x" for b in (False, True)]
        print(f"| {ROWS[row][0]} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
