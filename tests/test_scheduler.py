"""The scheduler loop in real time (no freezegun: APScheduler's thread needs a running clock).

`engine.app.scheduler.run` gets a fake `sweep_once` and a `stop_event`, with short intervals; the end-to-end test
runs `hazard scheduler` as a process on SQLite and stops it with SIGTERM.
"""
from __future__ import annotations

import pytest

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.domain.errors import StoreUnavailable
from engine.app.scheduler import run

HAZARD = Path(sys.executable).with_name("hazard")


class Loop:
    """`run` in a thread with a recording log and a fake sweep."""

    def __init__(self, sweep_once, *, interval=0.2, max_backoff=600.0):
        self.lines: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=run, args=(sweep_once,), daemon=True,
                                       kwargs={"interval": interval, "log": self.log, "stop_event": self.stop,
                                               "max_backoff": max_backoff})
        self.thread.start()

    def log(self, line: str) -> None:
        self.lines.append((time.monotonic() - self.started, line))

    def wait_for(self, predicate, timeout=10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; log: {self.lines}"
            time.sleep(0.02)

    def shutdown(self, timeout=5.0) -> float:
        asked = time.monotonic()
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the scheduler did not stop"
        return time.monotonic() - asked

    def messages(self, prefix: str) -> list[str]:
        return [line for _, line in self.lines if line.startswith(prefix)]


def counting_sweep(calls: list, result=None, fail_first: int = 0):
    def sweep_once():
        calls.append(time.monotonic())
        if len(calls) <= fail_first:
            raise StoreUnavailable("database unavailable (sqlite:///x.db): connection refused")
        return result or {"fired": 0, "skipped": 0, "conflicts": 0, "max_late_seconds": 0.0}
    return sweep_once


def test_sweeps_at_start_then_on_every_interval_and_logs_each_sweep():
    """The first sweep runs at start, then one per interval, each logged as `sweep k=v ...`."""
    calls = []
    loop = Loop(counting_sweep(calls, {"fired": 2, "skipped": 1, "conflicts": 0, "max_late_seconds": 5.0}))
    loop.wait_for(lambda: len(calls) >= 1)
    assert calls[0] - loop.started < 1.0  # not one interval later
    loop.wait_for(lambda: len(calls) >= 6)
    loop.shutdown()
    assert loop.messages("scheduler started")[0].startswith("scheduler started: sweeping every 0.2s")
    sweeps = loop.messages("sweep ")
    assert len(sweeps) == len(calls)
    assert sweeps[0] == "sweep fired=2 skipped=1 conflicts=0 max_late_seconds=5.0"
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert 0.1 < sum(gaps) / len(gaps) < 0.4


def test_stops_cleanly_when_the_stop_event_is_set():
    """Setting the stop event ends the loop within a second, logs `scheduler stopped`, and no sweep runs after."""
    calls = []
    loop = Loop(counting_sweep(calls))
    loop.wait_for(lambda: len(calls) >= 2)
    took = loop.shutdown()
    assert took < 2.0
    assert loop.lines[-1][1] == "scheduler stopped"
    count = len(calls)
    time.sleep(0.5)
    assert len(calls) == count


def test_a_long_sweep_is_never_overlapped_and_finishes_before_stopping():
    """A sweep longer than the interval never runs twice at once, and stopping waits for the running one."""
    running, overlap, finished = [0], [0], []

    def slow():
        running[0] += 1
        overlap[0] = max(overlap[0], running[0])
        time.sleep(0.4)
        running[0] -= 1
        finished.append(time.monotonic())
        return {"fired": 0}

    loop = Loop(slow, interval=0.1)
    loop.wait_for(lambda: len(finished) >= 2)
    loop.shutdown()
    assert overlap[0] == 1 and running[0] == 0
    assert loop.lines[-1][1] == "scheduler stopped"


@pytest.mark.parametrize("failures,interval,cap,wait,skip", [
    (1, 60, 600, 120, 1), (2, 60, 600, 240, 3), (3, 60, 600, 480, 7), (4, 60, 600, 600, 9),
    (10, 60, 600, 600, 9), (10 ** 9, 60, 600, 600, 9), (1, 1, 600, 2, 1), (3, 0.5, 600, 4, 7), (2, 30, 45, 45, 0)])
def test_backoff_doubles_the_wait_per_failure_up_to_the_cap(failures, interval, cap, wait, skip):
    """After N failed sweeps the loop waits interval x 2^N (capped), skipping that many ticks less one."""
    from engine.app.scheduler import backoff
    assert backoff(failures, interval, cap) == (wait, skip)


def test_backs_off_while_the_database_is_unavailable():
    """While sweeps raise StoreUnavailable the loop skips ticks as `backoff` says, and logs each failure."""
    calls = []
    loop = Loop(counting_sweep(calls, fail_first=10 ** 6))
    loop.wait_for(lambda: len(calls) >= 3, timeout=10)
    loop.shutdown()
    failures = loop.messages("sweep failed")
    assert len(failures) == len(calls)
    assert failures[0] == ("sweep failed: database unavailable (sqlite:///x.db): connection refused; "
                           "retrying in about 0s")  # 0.4 s, rounded
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert gaps == sorted(gaps) and gaps[1] > gaps[0]  # 0.4 s, then 0.8 s


def test_backoff_resets_after_a_good_sweep_and_says_the_database_is_back():
    """After the database is back the loop logs it once and sweeps every interval again."""
    calls = []
    loop = Loop(counting_sweep(calls, fail_first=2), interval=0.1, max_backoff=0.2)
    loop.wait_for(lambda: len(calls) >= 6, timeout=10)
    loop.shutdown()
    assert len(loop.messages("sweep failed")) == 2
    assert loop.messages("database reachable again") == ["database reachable again after 2 failed sweeps"]
    assert len(loop.messages("sweep fired=")) == len(calls) - 2


# -- end to end: `hazard scheduler` as a process ------------------------------------------------------------------

def _seed_overdue_case(url: str) -> str:
    """A major hazard reported and assigned on 2026-01-01 with deadline 2026-01-31: its whole ladder is due today."""
    from engine.domain.clock import FixedClock, parse_time
    from engine.app import Engine
    from engine.store.database import Store
    from tests.conftest import FIVE, report, run_to

    store = Store(url, create=True)
    service = Engine(store, clock=FixedClock(parse_time("2026-01-01T09:00")), trust_backdating=True)
    service.init(admin="li", admin_regions=["37"])
    service.commands.add_user("ent", roles=["enterprise"], regions=["371721"], actor="li")
    service.commands.add_user("zhang", roles=["supervisor"], regions=["3717"], actor="li")
    case = report(service)
    run_to(service, case.id, "rectifying", fields={**FIVE, "deadline": "2026-01-31"})
    store.dispose()
    return case.id


def _rung_statuses(url: str, case_id: str) -> dict:
    from engine.app import Engine
    from engine.domain.clock import SystemClock
    from engine.store.database import Store

    store = Store(url, create=True)
    try:
        _, rows, linked = Engine(store, clock=SystemClock(), trust_backdating=True).queries.case_view(case_id)
        return {r.rung: r.status for r in rows}, [c.workflow for c in linked]
    finally:
        store.dispose()


def test_hazard_scheduler_process_fires_due_rungs_and_stops_on_sigterm(tmp_path):
    """`hazard scheduler --interval 0.5` fires the overdue ladder, logs sweeps, and exits 0 on SIGTERM."""
    url = f"sqlite:///{tmp_path / 'hazard.db'}"
    case_id = _seed_overdue_case(url)
    env = {**os.environ, "HAZARD_NOW": ""}
    env.pop("HAZARD_NOW")
    proc = subprocess.Popen([str(HAZARD), "--db", url, "scheduler", "--interval", "0.5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while "pending" in _rung_statuses(url, case_id)[0].values():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scheduler fired nothing within 30 s"
            time.sleep(0.2)
        time.sleep(1.5)  # a couple more sweeps, which find nothing left
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = err.splitlines()
    assert lines[0].startswith("[hazard scheduler] scheduler started: sweeping every 0.5s")
    assert lines[-1] == "[hazard scheduler] scheduler stopped"
    sweeps = [line for line in lines if line.startswith("[hazard scheduler] sweep at=")]
    assert len(sweeps) >= 2 and "fired=0 skipped=0" in sweeps[-1]
    first = next(line for line in sweeps if "fired=1" in line)
    assert f"proposed_cases={case_id}" in first and f"fired_cases={case_id}" in first  # the log line names cases
    assert out == ""
    statuses, linked = _rung_statuses(url, case_id)
    # Months late: the warning and notice are recorded as missed, one red warning goes out, and of the sanctions
    # only the current ones are proposed; nothing is carried out, no linked case opens.
    assert statuses["red-warning"] == "fired"
    assert {statuses[r] for r in ("yellow-warning", "notice", "interview", "posted-supervision")} == {"skipped"}
    assert {statuses[r] for r in ("exposure", "suspension")} == {"proposed"}
    assert linked == []
