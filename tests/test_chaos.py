"""Chaos: many writer and sweeper processes, kill -9 of sweeps and of advance loops, a PostgreSQL outage.

Each test injects its faults and then checks every invariant the engine promises (tests/chaos_tools.py,
`invariants`): replay equals the stored rows, `audit verify` passes, each case's events are numbered 1..version
with no gap, no rung has two `escalate` events, and escalate events match fired or skipped rung rows one to
one. Sized for a 2-core machine: each test takes 10 to 40 s.

Nothing here asserts speed: what the processes did is counted, then the invariants are checked, so a loaded
machine makes a test slower, not red. Leases end by the recording clock (not the engine's `--now`); where a
test must be inside or past a lease it gives the sweep a recording clock of its own instead of waiting.
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import chaos_tools as chaos
from tests.chaos_tools import hazard, invariants
from tests.conftest import BACKENDS

SWEEP_AT = "2026-05-01T00:30"  # 30 minutes after the seeded deadline: yellow missed (skip), red and notice due


def _bench():
    if "bench_sweep" not in sys.modules:
        path = Path(__file__).parent.parent / "bench" / "bench_sweep.py"
        spec = importlib.util.spec_from_file_location("bench_sweep", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_sweep"] = module  # its dataclasses look their module up while being defined
        spec.loader.exec_module(module)
    return sys.modules["bench_sweep"]


def _count(db: str, sql: str, **params) -> int:
    from engine.store.database import normalise_url
    engine = create_engine(normalise_url(db))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


DONE = "SELECT count(*) FROM rung WHERE status IN ('fired', 'skipped')"
LEASED = "SELECT count(*) FROM rung WHERE status = 'pending' AND claimed_by IS NOT NULL"


def _swept(db: str, now: str) -> dict:
    done = hazard(db, "--json", "escalate", now=now)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _freeze_holding_a_claim(proc: subprocess.Popen, db: str, *, done_at_least: int, timeout: float = 60) -> int:
    """SIGSTOP the sweeping process at a moment it holds claimed rows mid-batch (after `done_at_least` rungs
    are done); returns how many it holds. A frozen process commits nothing, so what is read then stays true."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, "the sweep ended before it could be caught mid-batch"
        assert time.monotonic() < deadline, "never caught the sweep holding a claim"
        if _count(db, DONE) >= done_at_least:
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)  # a statement sent just before the stop finishes on the server meanwhile
            held = _count(db, LEASED)
            if held:
                return held
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)


def _assert_whole(db: str) -> dict:
    found = invariants(db)
    assert found["problems"] == [], found["problems"][:20]
    return found


@pytest.fixture
def reaped():
    """A list to put started processes in; any still running when the test ends is killed."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


# -- many writers and two sweepers ---------------------------------------------------------------------------

WRITERS, SWEEPERS, HOT_CASES = 6, 2, 8
# The hammer really hit: writes won and lost races, sweeps fired rungs of cases being written. The drivers run
# until their logs show this much, however long that takes; BOUND only ends a run that cannot get there.
ENOUGH = {"ok": 50, "conflicts": 1, "rungs_handled": 20}
BOUND = 300  # seconds


def _logs(tmp_path: Path) -> list[list[dict]]:
    return [chaos.read_log(tmp_path / f"{k}{i}.log") for k, n in (("writer", WRITERS), ("sweeper", SWEEPERS))
            for i in range(n)]


@pytest.mark.slow
def test_writers_and_sweepers_racing_keep_every_invariant(db_url, tmp_path, reaped):
    """Six writer and two sweeper processes on eight shared cases until 50 writes went through, one lost a race
    and 20 rungs were handled: no lost, doubled or gapped write."""
    hot = chaos.set_up(db_url, HOT_CASES)
    t0, stop = time.time() + 1.0, tmp_path / "stop"
    procs = [chaos.start_driver("writer", db_url, tmp_path / f"writer{i}.log", t0=t0, end=t0 + BOUND, seed=i, cases=hot,
                                stop=stop) for i in range(WRITERS)]
    procs += [chaos.start_driver("sweeper", db_url, tmp_path / f"sweeper{i}.log", t0=t0, end=t0 + BOUND, stop=stop)
              for i in range(SWEEPERS)]
    reaped.extend(procs)
    while all(p.poll() is None for p in procs):
        did = chaos.tally(_logs(tmp_path))
        if all(did[k] >= n for k, n in ENOUGH.items()):
            break
        time.sleep(0.5)
    stop.touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, Path(proc.args[6] + ".err").read_text()[-2000:]
    did = chaos.tally(_logs(tmp_path))
    assert did["crashes"] == [] and did["other_exits"] == {}, did
    assert set(did["sweep_exits"]) == {0}
    assert did["handled_twice"] == []
    assert all(did[k] >= n for k, n in ENOUGH.items()), did  # only a machine stalled for BOUND seconds misses this
    final = chaos.stamp(chaos.engine_now(t0))
    _swept(db_url, final)  # whatever came due in the last moments
    assert chaos.due_unfired(db_url, final) == 0
    found = _assert_whole(db_url)
    assert found["escalations"] >= did["rungs_handled"]
    print(f"\nchaos writers: {WRITERS}+{SWEEPERS} processes, {did['operations']} operations, {did['writes']} writes "
          f"({did['ok']} ok, {did['conflicts']} conflicts, refused {dict(did['refused'])}), {did['sweeps']} sweeps "
          f"({did['sweep_conflicts']} cases left for the next), {found['cases']} cases, {found['events']} events, "
          f"{found['escalations']} escalations")


# -- kill -9 of a sweep -----------------------------------------------------------------------------------

DUE_CASES = 1500  # x 3 due rungs: 4,500; a sweep takes about 3 s on SQLite and 5 to 9 s on PostgreSQL here


def _lease_window(db: str) -> tuple[datetime, datetime, datetime]:
    """(the latest recording time of any event, the earliest and the latest end of a lease still held)."""
    from sqlalchemy import func, select

    from engine.store.database import normalise_url
    from engine.store.tables import events, rungs
    engine = create_engine(normalise_url(db))
    try:
        with engine.connect() as conn:
            written = conn.execute(select(func.max(events.c.recorded_at))).scalar_one()
            first, last = conn.execute(select(func.min(rungs.c.lease_until), func.max(rungs.c.lease_until)).where(
                rungs.c.status == "pending", rungs.c.claimed_by.is_not(None))).one()
    finally:
        engine.dispose()
    fix = events.c.recorded_at.type.process_result_value  # the column type's own reading (tz-aware UTC)
    return fix(written, None), fix(first, None), fix(last, None)


def _restart(db: str, *, recorded: datetime, now: str = SWEEP_AT) -> list[dict]:
    """A sweep at `now` whose recording clock, the one its leases are read by, shows `recorded`."""
    from engine.app import Engine
    from engine.domain.clock import FixedClock, parse_time
    from engine.store.database import Store
    engine = Engine(Store(db), clock=FixedClock(parse_time(now)), recorded_clock=FixedClock(recorded))
    try:
        return engine.sweep(now=now).fired
    finally:
        engine.close()


@pytest.mark.slow
def test_a_sweep_killed_mid_way_leaves_nothing_half_done_and_a_restart_finishes(db_url, reaped):
    """kill -9 of `hazard escalate` over 4,500 due rungs, then two restarts: each rung fired or skipped exactly once.

    The restarts take the killed sweep's leases by their own recording clock (the clock a lease is read by), set
    from what the killed sweep wrote: one inside its leases, one after them. However long the machine took to
    get there, the first finds the claims held and the second takes them over; nothing waits on the real clock.
    """
    seeded = _bench().seed(db_url, cases=DUE_CASES + 1, due=DUE_CASES, now=SWEEP_AT)
    assert seeded.due_rungs == 3 * DUE_CASES
    proc = subprocess.Popen([str(chaos.HAZARD), "--db", db_url, "--now", SWEEP_AT, "escalate"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=chaos.clean_env())
    reaped.append(proc)
    held = _freeze_holding_a_claim(proc, db_url, done_at_least=seeded.due_rungs // 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stderr.close()
    before, leased = _count(db_url, DONE), _count(db_url, LEASED)
    assert 0 < before < seeded.due_rungs and leased == held > 0
    _assert_whole(db_url)  # every batch the sweep committed is whole; the one it was in left nothing

    # Its last claim was taken after its last committed event (a batch is claimed, then fired), and a lease
    # lasts 5 minutes from its claim: the moment of that event is inside every lease it left.
    last_written, first_end, last_end = _lease_window(db_url)
    assert last_written < first_end
    again = _restart(db_url, recorded=last_written)  # a restart inside the lease: the killed sweep's claim holds
    assert len(again) == seeded.due_rungs - before - leased
    assert _count(db_url, LEASED) == leased
    late = _restart(db_url, recorded=last_end + timedelta(seconds=1))  # once the leases are over
    assert len(late) == leased
    assert chaos.due_unfired(db_url, SWEEP_AT) == 0
    found = _assert_whole(db_url)
    assert found["escalations"] == seeded.due_rungs
    assert (found["rung_rows"]["fired"], found["rung_rows"]["skipped"]) == (2 * DUE_CASES, DUE_CASES)
    print(f"\nchaos kill sweep: {seeded.due_rungs} due rungs, killed after {before}, {leased} left leased; "
          f"restart fired {len(again)}, after the lease {len(late)}")


# -- kill -9 of advance loops -------------------------------------------------------------------------------

@pytest.mark.slow
def test_advance_loops_killed_again_and_again_leave_whole_histories(db_url, tmp_path, reaped):
    """Writers (and now and then the sweeper) killed -9 at random, each replaced: histories stay whole, every due rung fires once."""
    hot = chaos.set_up(db_url, 10)
    t0, stop = time.time() + 0.5, tmp_path / "stop"
    end = t0 + 120
    rnd, started = random.Random(12), 0

    def start(kind):
        nonlocal started
        started += 1
        log = tmp_path / f"{kind}{started}.log"
        reaped.append(chaos.start_driver(kind, db_url, log, t0=t0, end=end, seed=started, cases=hot, stop=stop))
        return kind, log, reaped[-1]

    live = [start("writer"), start("writer"), start("sweeper")]
    kills, inside_writes, killed_sweeps = 0, 0, 0
    while (inside_writes < 3 or killed_sweeps < 1) and kills < 25:  # bounded by kills, not by a clock
        victim = live[2] if kills % 4 == 3 else live[rnd.randrange(2)]
        kind, log, proc = victim
        at_work = time.monotonic() + 30
        while len(chaos.read_log(log)) < 3 and time.monotonic() < at_work:  # past its imports, into its loop
            time.sleep(0.05)
        time.sleep(rnd.uniform(0.1, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
        lines = chaos.read_log(log)
        if kind == "writer" and lines and lines[-1].get("phase") == "begin":
            inside_writes += 1  # it died inside a write command: between reading the case and its commit
        killed_sweeps += kind == "sweeper"
        live[live.index(victim)] = start(kind)
    assert inside_writes >= 3 and killed_sweeps >= 1, (kills, inside_writes, killed_sweeps)
    time.sleep(1.0)  # the replacements work a little more
    stop.touch()
    for _, _, proc in live:
        assert proc.wait(timeout=60) == 0
    did = chaos.tally([chaos.read_log(p) for p in tmp_path.glob("*.log")])
    assert did["crashes"] == [] and did["other_exits"] == {} and did["handled_twice"] == [], did
    # A killed sweeper's claims are taken over by a sweep whose recording clock is past every lease (and past
    # every event written), instead of waiting the leases out.
    written, _, last_end = _lease_window(db_url)
    final = chaos.stamp(chaos.engine_now(t0) + timedelta(minutes=6))
    _restart(db_url, recorded=max(filter(None, [written, last_end and last_end + timedelta(seconds=1),
                                                datetime.now(timezone.utc)])), now=final)
    assert chaos.due_unfired(db_url, final) == 0
    found = _assert_whole(db_url)
    print(f"\nchaos kill loops: {kills} kills ({inside_writes} inside a write, {killed_sweeps} of a sweeper), "
          f"{started} processes, {did['operations']} operations ({did['ok']} writes ok, {did['conflicts']} conflicts), "
          f"{found['cases']} cases, {found['events']} events, {found['escalations']} escalations")


# -- a PostgreSQL outage under the scheduler --------------------------------------------------------------------

@pytest.fixture
def cluster():
    """A PostgreSQL cluster of this test's own on a free port, removed afterwards whatever happened."""
    if "postgres" not in BACKENDS:
        pytest.skip("HAZARD_TEST_DB selects SQLite only")
    made = chaos.ThrowawayCluster()
    if made.skip:
        if os.environ.get("HAZARD_REQUIRE_PG") == "1":  # CI: a PostgreSQL test may not vanish quietly
            pytest.fail(made.skip)
        pytest.skip(made.skip)
    try:
        made.create()
        made.start()
        yield made
    finally:
        made.destroy()


class Watched:
    """A process whose stderr lines are collected with their arrival time."""

    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=chaos.clean_env())
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def since(self, moment: float, contains: str) -> list[str]:
        return [line for at, line in list(self.lines) if at >= moment and contains in line]

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.lines[-20:]}"
            assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s; {self.lines[-20:]}"
            time.sleep(0.1)


OUTAGE_CASES = 400  # x 7 due rungs (the whole ladder, its sanctions proposed) by today's real clock


@pytest.mark.slow
@pytest.mark.postgres
def test_the_scheduler_outlives_a_database_outage_and_fires_nothing_twice(cluster):
    """`hazard scheduler --interval 1` while its PostgreSQL stops for 5 s mid-sweep: it backs off, resumes, exits 0 on SIGTERM."""
    real_now = datetime.now(timezone.utc)
    seeded = _bench().seed(cluster.url, cases=OUTAGE_CASES + 1, due=OUTAGE_CASES, now=real_now.isoformat())
    assert seeded.due_rungs == 7 * OUTAGE_CASES
    scheduler = Watched([str(chaos.HAZARD), "--db", cluster.url, "scheduler", "--interval", "1"])
    try:
        scheduler.wait_for(lambda: scheduler.lines, 30, "the scheduler's start")
        # Cut the first sweep while it holds a claim: frozen for the moment the server goes down, then let go.
        held = _freeze_holding_a_claim(scheduler.proc, cluster.url, done_at_least=200)
        down = time.monotonic()
        cluster.stop("fast")
        scheduler.proc.send_signal(signal.SIGCONT)
        refused = hazard(cluster.url, "--actor", "ent", *chaos.REPORT[:-2], "--source", "self_check")
        time.sleep(max(5 - (time.monotonic() - down), 0))
        cluster.start()
        up = time.monotonic()
        scheduler.wait_for(lambda: scheduler.since(up, "sweep at=") and _count(
            cluster.url, "SELECT count(*) FROM rung WHERE status = 'pending' AND claimed_by IS NULL AND due_at <= :now",
            now=real_now) == 0, 90, "draining the due rungs after the outage")
        scheduler.wait_for(lambda: scheduler.since(time.monotonic() - 1.5, "fired=0 skipped=0"), 30, "an idle sweep")
        scheduler.proc.send_signal(signal.SIGTERM)
        assert scheduler.proc.wait(timeout=20) == 0
        scheduler.reader.join(5)
    finally:
        if scheduler.proc.poll() is None:
            scheduler.proc.kill()
            scheduler.proc.wait(10)
    lines = [line for _, line in scheduler.lines]
    assert lines[-1] == "[hazard scheduler] scheduler stopped", lines[-5:]
    assert not [line for line in lines if "Traceback" in line], lines
    failures = scheduler.since(down, "sweep failed")
    assert failures and all("database unavailable" in line for line in failures), lines
    waits = [int(line.rsplit("about ", 1)[1].rstrip("s")) for line in failures]
    assert waits[:2] == [2, 4] and waits == sorted(waits), waits  # backing off: 2, 4, 8 ... seconds
    assert scheduler.since(up, "sweep at="), "no sweep succeeded after the database came back"
    # A command during the outage says so (exit 8) and leaves nothing behind.
    assert refused.returncode == 8 and "database unavailable" in refused.stderr, refused.stderr
    assert _count(cluster.url, "SELECT count(*) FROM hazard_case WHERE source = 'self_check'") == 0

    # The claim of the sweep the outage cut short was handed back by the scheduler's next good sweep, which
    # fired those rungs too: nothing waited out the lease.
    assert held > 0 and _count(cluster.url, LEASED) == 0
    leased = held
    assert chaos.due_unfired(cluster.url, real_now.isoformat()) == 0
    found = _assert_whole(cluster.url)
    assert found["escalations"] == seeded.due_rungs
    # The sanctions are proposed, never carried out by the scheduler: no linked case is opened, and each due case
    # has its current sanctions proposed once (none lost with the cut batch, none proposed twice).
    assert found["cases"] == OUTAGE_CASES + 1
    proposed = _count(cluster.url, "SELECT count(*) FROM rung WHERE status = 'proposed'")
    assert proposed >= OUTAGE_CASES and proposed % OUTAGE_CASES == 0, proposed
    print(f"\nchaos outage: {seeded.due_rungs} due rungs, {len(failures)} failed sweeps (waits {waits} s), "
          f"{leased} rungs claimed by the cut sweep, handed back and fired after it, {found['cases']} cases")


@pytest.mark.slow
def test_a_sweep_longer_than_the_interval_keeps_the_scheduler_log_its_own(tmp_path):
    """While one sweep outlasts `--interval`, every line on the scheduler's stderr is still one of its own."""
    url = f"sqlite:///{tmp_path / 'hazard.db'}"
    _bench().seed(url, cases=301, due=300, now=datetime.now(timezone.utc).isoformat())  # 2,100 rungs: seconds of work
    scheduler = Watched([str(chaos.HAZARD), "--db", url, "scheduler", "--interval", "0.2"])
    try:
        scheduler.wait_for(lambda: scheduler.since(0, "fired=0 skipped=0"), 90, "an idle sweep after the long one")
        scheduler.proc.send_signal(signal.SIGTERM)
        assert scheduler.proc.wait(timeout=20) == 0
        scheduler.reader.join(5)
    finally:
        if scheduler.proc.poll() is None:
            scheduler.proc.kill()
            scheduler.proc.wait(10)
    foreign = [line for _, line in scheduler.lines if not line.startswith("[hazard scheduler] ")]
    assert foreign == []


# -- the guarantees these tests prove --------------------------------------------------------------------

def test_every_test_the_guarantees_cite_exists():
    """Each `tests/FILE.py::TEST` the manual's Guarantees page names is a test function in that file."""
    root = Path(__file__).resolve().parent.parent
    from tests.manual import section as manual_section
    section = manual_section("Guarantees")
    cited = set(re.findall(r"tests/(\w+\.py)::(\w+)", section))
    assert len(cited) >= 10
    missing = [f"{f}::{name}" for f, name in sorted(cited)
               if not re.search(rf"^def {name}\(", (root / "tests" / f).read_text(encoding="utf-8"), flags=re.M)]
    assert missing == []
