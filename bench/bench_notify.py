"""What the transactional outbox adds to an advance, and how fast messages leave through a local SMTP server.

    .venv/bin/python bench/bench_notify.py [--cases 300] [--repeat 3] [--mails 300]

1. The lifecycle of bench/bench_lifecycle.py (report, assign, start, attach, submit, verify, close; one
   transaction per command, SQLite file), with the shipped major-hazard rules (`assign` tells the enterprise and
   the responsible person, `submit` the two supervisors: 3 inbox rows per case), against the same run with the
   outbox switched off (`engine.app.outbox.rows_for` returning nothing) in the same process, alternating, best
   of `--repeat`. The ratio is the outbox's cost on the lifecycle (goal: at most 1.10); on a loaded machine
   it swings either way by more than the cost, so the time spent inside the outbox is printed as well.
2. Delivery: `--mails` e-mails written by assignments, then `hazard notify --once`'s loop (`deliver_all`) to an
   aiosmtpd server on 127.0.0.1: messages per second, each with its `notify` event.
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lifecycle import FIVE, new_engine, run_engine  # noqa: E402

from engine.app import outbox  # noqa: E402


def lifecycle_pair(cases: int, repeat: int, folder: str) -> tuple[float, float, float, float]:
    """Best times with the outbox on and off, the share of the best 'on' run spent inside the outbox, and the
    ratio of the best CPU times (this process's own, which the other processes of a busy machine disturb less)."""
    from engine.store import notifications as store
    real, real_insert = outbox.rows_for, store.insert
    inside = [0.0]

    def timing(function):
        def timed(*args):
            start = time.perf_counter()
            try:
                return function(*args)
            finally:
                inside[0] += time.perf_counter() - start
        return timed

    timed, store.insert = timing(real), timing(real_insert)

    best = {"on": (float("inf"), 0.0), "off": (float("inf"), 0.0)}
    cpu = {"on": float("inf"), "off": float("inf")}
    for i in range(repeat):
        for mode in (("off", "on") if i % 2 == 0 else ("on", "off")):  # neither always runs first
            outbox.rows_for = timed if mode == "on" else (lambda unit, events: [])
            inside[0] = 0.0
            engine = new_engine(f"sqlite:///{folder}/life-{mode}-{i}.db")
            try:
                started = time.process_time()
                seconds = run_engine(engine, cases, None)
                cpu[mode] = min(cpu[mode], time.process_time() - started)
            finally:
                engine.close()
            best[mode] = min(best[mode], (seconds, inside[0]))
    outbox.rows_for, store.insert = real, real_insert
    return best["on"][0], best["off"][0], best["on"][1] / best["on"][0], cpu["on"] / cpu["off"]


def delivery(mails: int, folder: str) -> float:
    from aiosmtpd.controller import Controller
    from engine.app.deliverer import deliver_all, set_channel

    class Count:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Count.received += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    engine = new_engine(f"sqlite:///{folder}/deliver.db")
    try:
        engine.commands.change_user("ent", actor="li", email="ent@example.cn")
        set_channel(engine, "smtp", actor="li", host="127.0.0.1", port=port, sender="aq@example.cn")
        for _ in range(mails):
            case = engine.commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                                               enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                               level="major", source="self_check")
            engine.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
        start = time.perf_counter()
        done = deliver_all(engine)
        seconds = time.perf_counter() - start
        assert done.sent == mails == Count.received, (done, Count.received)
        return seconds
    finally:
        engine.close()
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mails", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as folder:
        on, off, share, cpu_ratio = lifecycle_pair(args.cases, args.repeat, folder)
        steps = args.cases * 7
        print(f"lifecycle, {args.cases} cases ({steps} commands), SQLite, one transaction per command:")
        print(f"  outbox off  {steps / off:8.0f} commands/s")
        print(f"  outbox on   {steps / on:8.0f} commands/s   {on / off:.2f}x (goal at most 1.10x)")
        print(f"  CPU time of this process, on against off: {cpu_ratio:.2f}x")
        print(f"  time inside the outbox (rules, people, rendering, inserting its rows): {share:.1%} of the 'on' "
              "run (its share of the commit is not separable)")
        seconds = delivery(args.mails, folder)
        print(f"delivery of {args.mails} e-mails to a local SMTP server, each with its notify event: "
              f"{args.mails / seconds:.0f} messages/s")


if __name__ == "__main__":
    main()
