"""The scheduler loop at the edge: APScheduler 3 runs one sweep job on an interval until SIGTERM.

APScheduler holds no per-case jobs and no job store: due rungs are rows, so a restart loses nothing and
several schedulers can run against one PostgreSQL database (the sweep claims rows with SKIP LOCKED).
The single job has a fixed id, coalesces missed runs, never overlaps itself and never drops a late run.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable

from engine.domain.errors import StoreError
from engine.domain.limits import check_interval

JOB_ID = "sweep"


def backoff(failures: int, interval: float, max_backoff: float) -> tuple[float, int]:
    """After `failures` sweeps in a row failed: how long to wait (2x, 4x, 8x... the interval, capped) and how
    many interval ticks to skip to wait that long. Pure: the loop below only counts ticks."""
    # The exponent stops growing once past the cap, so a week-long outage never overflows a float.
    wait = min(interval * 2 ** min(failures, 64), max_backoff)
    return wait, max(int(wait // interval) - 1, 0)


def run(sweep_once: Callable[[], dict], *, interval: float, log: Callable[[str], None],
        max_backoff: float = 600.0, stop_event: threading.Event | None = None, what: str = "sweep",
        name: str = "scheduler", daily: tuple[int, int, Callable[[], dict]] | None = None) -> None:
    """Sweep now and then every `interval` seconds until SIGTERM/SIGINT (or `stop_event` is set). The deliverer
    of notifications (`hazard notify`) runs in the same loop, its job a delivery round (`what`, `name`), with
    `daily` (hour, minute, job): a job run each day at that time, Asia/Shanghai (the digest)."""
    import logging

    from apscheduler.schedulers.background import BackgroundScheduler

    # Its warnings ("maximum number of running instances reached" while a sweep outlasts the interval) are
    # the coalescing we asked for, not news; the log is ours, one line per sweep.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    interval = check_interval(interval)  # a negative or NaN interval made APScheduler spin
    stop = stop_event or threading.Event()
    failures = {"count": 0, "skip": 0}

    def job():
        if failures["skip"] > 0:  # back off while the database is away
            failures["skip"] -= 1
            return
        try:
            counts = sweep_once()
        except StoreError as exc:
            failures["count"] += 1
            wait, failures["skip"] = backoff(failures["count"], interval, max_backoff)
            log(f"{what} failed: {exc}; retrying in about {wait:.0f}s")
            return
        if failures["count"]:
            log(f"database reachable again after {failures['count']} failed {what}{'s' * (failures['count'] > 1)}")
        failures["count"] = 0
        if counts:
            log(f"{what} " + " ".join(f"{k}={v}" for k, v in counts.items()))

    from datetime import datetime, timezone
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(job, "interval", seconds=interval, id=JOB_ID, replace_existing=True, coalesce=True,
                      max_instances=1, misfire_grace_time=None, next_run_time=datetime.now(timezone.utc))
    if daily is not None:
        hour, minute, daily_job = daily

        def each_day():
            try:
                counts = daily_job()
            except StoreError as exc:
                log(f"daily job failed: {exc}")
                return
            if counts:
                log("daily " + " ".join(f"{k}={v}" for k, v in counts.items()))
        scheduler.add_job(each_day, "cron", hour=hour, minute=minute, id=f"{JOB_ID}-daily", replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=3600)
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
        except ValueError:  # not the main thread (tests): the caller stops us with stop_event
            pass
    scheduler.start()
    every = "sweeping" if what == "sweep" else f"a {what} round"
    log(f"{name} started: {every} every {interval:g}s (SIGTERM or Ctrl-C stops after the running {what})")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        log(f"{name} stopped")
