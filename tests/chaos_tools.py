"""Chaos drivers and checks: writer and sweeper loops that drive the `hazard` CLI, and the invariants.

The drivers run as their own processes (`python tests/chaos_tools.py writer|sweeper ...`) and call the
`hazard` command in-process for each operation: the same arguments and exit codes as the shell, without
paying 0.4 s of interpreter start per command, so a kill -9 lands inside commands most of the time. Each
operation is one line of JSON in the driver's log, written before (`begin`) and after (`end`) a write, so
a log read after a kill says what the process was doing when it died.

Engine time is shared: every process computes `--now` as BASE + (wall seconds since t0) x SPEED days, so the
cases' ladders come due while the drivers run. BASE lies in the past (back-filling), which stays allowed when
issue 12 forbids effective times later than the recording time.

The invariants are checked against the database itself (SQL on the stored tables) and by the CLI's own
audits: `audit replay --all` and `audit verify` exit 0; every case's events are numbered 1..version; no
(case, clock, cycle, rung) has two `escalate` events; escalate events and fired, skipped or proposed rung rows
match one to one.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import weakref
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

HAZARD = Path(sys.executable).with_name("hazard")
BASE = datetime.fromisoformat("2026-03-02T09:00:00+08:00")
PHOTO = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rectified.png"  # evidence for a submit
SPEED_DAYS_PER_SECOND = 2.0
USERS = [("li", "committee", "37"), ("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717"),
         ("liu", "supervisor", "3717")]
REPORT = ["case", "report", "--title", "液氨储罐区未设置泄漏报警装置", "--enterprise", "某化工有限公司",
          "--region", "371721", "--industry", "危险化学品", "--level", "major", "--source", "inspection"]
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装可燃气体泄漏报警装置",
        "funds": "15万", "emergency_plan": "液氨泄漏专项应急预案"}


def engine_now(t0: float, speed: float = SPEED_DAYS_PER_SECOND) -> datetime:
    return BASE + timedelta(hours=1, days=max(time.time() - t0, 0.0) * speed)


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


SWEEPER_LEASE = 5  # seconds, real time: a killed sweeper's claims come back soon enough to finish a test


def clean_env(**settings: str) -> dict:
    """The environment without HAZARD_* settings, so only the arguments given count (and `settings`); the
    evidence store (HAZARD_FILES) stays, as a deployment's would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_") or k == "HAZARD_FILES"}
    env.update(settings)
    return env


# -- the CLI, as a process and in-process -----------------------------------------------------------------------

def hazard(db: str, *args: str, now: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed `hazard` command as its own process."""
    head = [str(HAZARD), "--db", db] + (["--now", now] if now else [])
    return subprocess.run(head + list(args), capture_output=True, text=True, timeout=timeout, env=clean_env())


class InProcessCli:
    """Invoke `hazard` in this process; dispose every database engine a command opened once it returns."""

    def __init__(self, db: str):
        from click.testing import CliRunner
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        from cli.main import cli
        self.db, self.cli, self.runner = db, cli, CliRunner()
        self.engines: weakref.WeakSet = weakref.WeakSet()
        self._listening = (Engine, "engine_connect", lambda conn, *_: self.engines.add(conn.engine))
        event.listen(*self._listening)

    def close(self) -> None:
        from sqlalchemy import event
        event.remove(*self._listening)

    def __call__(self, *args: str, now: str | None = None, actor: str | None = None):
        """(exit code, JSON document or None, a traceback if the command raised one)."""
        head = ["--db", self.db, "--json"] + (["--now", now] if now else []) + (["--actor", actor] if actor else [])
        result = self.runner.invoke(self.cli, head + list(args), env={k: None for k in os.environ if k.startswith("HAZARD_") and k != "HAZARD_FILES"})
        for engine in list(self.engines):
            engine.dispose()
        crash = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback
            crash = "".join(traceback.format_exception(*result.exc_info))[-2000:]
        try:
            doc = json.loads(result.stdout) if result.stdout.strip() else None
        except ValueError:
            doc = None
        return result.exit_code, doc, crash


def set_up(db: str, hot_cases: int) -> list[str]:
    """`hazard init`, the users (the committee member first: issue 12 makes the first user the administrator),
    and `hot_cases` reported cases; returns their ids."""
    run = InProcessCli(db)
    try:
        assert run("init")[0] == 0
        for name, role, region in USERS:
            code, doc, crash = run("user", "add", name, "--role", role, "--region", region, actor="li")
            assert code == 0, (name, doc, crash)
        ids = []
        for _ in range(hot_cases):
            code, doc, crash = run(*REPORT, now=stamp(BASE), actor="ent")
            assert code == 0, (doc, crash)
            ids.append(doc["id"])
        return ids
    finally:
        run.close()


# -- the drivers ---------------------------------------------------------------------------------------------

def laggard(case_id: str) -> bool:
    """Every other case's enterprise never submits: its ladder runs to the end while the writers read it."""
    return int(case_id[-6:]) % 2 == 0


def next_write(case_id: str, state: str, rnd: random.Random, now: datetime) -> tuple[str, list[str]] | None:
    """The write a user would make next on a major-hazard case in `state`: (actor, arguments); ("", []) when
    nobody acts on it this time; None once it is closed."""
    sup = rnd.choice(["zhang", "liu"])
    day = lambda n: (now + timedelta(days=n)).date().isoformat()  # noqa: E731
    if state == "reported":
        sets = [a for k, v in {**FIVE, "deadline": day(rnd.randint(1, 6))}.items() for a in ("--set", f"{k}={v}")]
        return sup, ["assign", *sets]
    if state == "assigned":
        return "ent", ["start"]
    if state == "rectifying" and laggard(case_id):
        # Now and then a deadline moves under a sweep that holds the case's rungs.
        return (sup, ["extend", "--until", day(rnd.randint(1, 3)), "--reason", f"延期 {rnd.random():.6f}"]) \
            if rnd.random() < 0.05 else ("", [])
    if state == "rectifying":
        if rnd.random() < 0.15:  # an application, which the other supervisor decides (not always in time)
            return sup, ["extend", "--until", day(rnd.randint(2, 9)), "--reason", f"设备到货延迟 {rnd.random():.6f}"]
        if rnd.random() < 0.15:
            return sup, ["decide", "extension", rnd.choice(["approve", "decline"]), "--reason", "审批"]
        if rnd.random() < 0.3:  # the rectification photo a submit requires (a submit before it is refused, exit 3)
            return "ent", ["attach", str(PHOTO), "--kind", "rectified"]
        return "ent", ["submit"]
    if state == "verifying":
        return sup, [rnd.choice(["verify", "reject"]), "--set", "opinion=现场核查"]
    if state == "verified":
        return "li", ["close"]
    return None


def running(args) -> bool:
    return time.time() < args.end and not (args.stop and Path(args.stop).exists())


def writer(args) -> None:
    """Read a case, decide its next step, write it (half the time with --expect-version), until the end time."""
    rnd, run = random.Random(args.seed), InProcessCli(args.db)
    shared, own, done = args.cases.split(","), [], set()
    with open(args.log, "a", buffering=1) as log:
        while running(args):
            pool = [c for c in shared + own if c not in done]
            if not pool or rnd.random() < 0.08:
                log.write(json.dumps({"op": "report", "phase": "begin"}) + "\n")
                code, doc, crash = run(*REPORT, now=stamp(engine_now(args.t0)), actor="ent")
                if code == 0:
                    own.append(doc["id"])
                log.write(json.dumps({"op": "report", "phase": "end", "exit": code, "crash": crash}) + "\n")
                continue
            case_id = rnd.choice(pool)
            code, doc, crash = run("case", "show", case_id, now=stamp(engine_now(args.t0)))
            log.write(json.dumps({"op": "show", "exit": code, "crash": crash}) + "\n")
            if code != 0:
                continue
            now = engine_now(args.t0)
            step = next_write(case_id, doc["state"], rnd, now)
            if step is None:
                done.add(case_id)
            if not step or not step[1]:
                continue
            actor, write = step
            verb = write[0] if write[0] in ("extend", "decide", "attach") else None
            command = ["case", verb, case_id, *write[1:]] if verb else ["case", "advance", case_id, *write]
            if verb is None and rnd.random() < 0.5:
                command += ["--expect-version", str(doc["version"])]
            log.write(json.dumps({"op": write[0], "case": case_id, "phase": "begin"}) + "\n")
            code, doc, crash = run(*command, now=stamp(now), actor=actor)
            rule = (doc or {}).get("error", {}).get("rule") if code else None
            if write[0] == "close" and code == 3:
                done.add(case_id)  # a linked posted supervision is open or the case is suspended: leave it
            log.write(json.dumps({"op": write[0], "case": case_id, "phase": "end", "exit": code, "rule": rule,
                                  "crash": crash}) + "\n")


def sweeper(args) -> None:
    """`hazard escalate` at the shared engine time, again and again, logging every rung each sweep handled."""
    run = InProcessCli(args.db)
    with open(args.log, "a", buffering=1) as log:
        while running(args):
            code, doc, crash = run("escalate", "--lease", str(SWEEPER_LEASE), now=stamp(engine_now(args.t0)))
            rungs = [[r["case_id"], r["clock"], r["cycle"], r["rung"], r["status"]] for r in (doc or {}).get("rungs", [])]
            log.write(json.dumps({"op": "sweep", "exit": code, "crash": crash, "rungs": rungs,
                                  "conflicts": (doc or {}).get("conflicts", 0)}) + "\n")
            time.sleep(args.pause)


def start_driver(kind: str, db: str, log: Path, *, t0: float, end: float, seed: int = 0, cases=(),
                 pause: float = 0.2, stop: Path | None = None) -> subprocess.Popen:
    """A writer or sweeper process; it ends at `end` (epoch seconds) or once the file `stop` exists."""
    command = [sys.executable, __file__, kind, "--db", db, "--log", str(log), "--t0", repr(t0), "--end", repr(end),
               "--seed", str(seed), "--cases", ",".join(cases), "--pause", str(pause), "--stop", str(stop or "")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(f"{log}.err", "w"), env=clean_env())


def read_log(path: Path) -> list[dict]:
    """The driver's log lines; a line cut short by a kill -9 is dropped."""
    lines = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def tally(logs: list[list[dict]]) -> dict:
    """What the drivers did: writes by outcome, sweeps, rungs they report handling, crashes."""
    lines = [line for log in logs for line in log]
    writes = [x for x in lines if x.get("phase") == "end"]
    sweeps = [x for x in lines if x["op"] == "sweep"]
    handled = Counter(tuple(r[:4]) for s in sweeps for r in s["rungs"])
    return {"operations": sum(1 for x in lines if x.get("phase") != "begin"),
            "writes": len(writes), "ok": sum(1 for x in writes if x["exit"] == 0),
            "conflicts": sum(1 for x in writes if x["exit"] == 6),
            "refused": Counter(x["rule"] for x in writes if x["exit"] == 3),
            "other_exits": Counter(x["exit"] for x in lines if x.get("exit") not in (0, 3, 6, None)),
            "crashes": [x["crash"] for x in lines if x.get("crash")],
            "sweeps": len(sweeps), "sweep_exits": Counter(s["exit"] for s in sweeps),
            "rungs_handled": sum(handled.values()), "handled_twice": [k for k, n in handled.items() if n > 1],
            "sweep_conflicts": sum(s["conflicts"] for s in sweeps)}


# -- the invariants ------------------------------------------------------------------------------------------

def invariants(db: str) -> dict:
    """Every invariant the engine promises after any crash or race, with the figures; `problems` lists breaks."""
    problems = []
    for args in (("audit", "replay", "--all"), ("audit", "verify")):
        done = hazard(db, *args)
        if done.returncode != 0:
            problems.append(f"`hazard {' '.join(args)}` exit {done.returncode}: {done.stdout[-1500:]}{done.stderr[-1500:]}")
    from sqlalchemy import create_engine, text

    from engine.store.database import normalise_url
    engine = create_engine(normalise_url(db))
    try:
        with engine.connect() as conn:
            versions = dict(conn.execute(text("SELECT id, version FROM hazard_case")).all())
            seqs: dict[str, list[int]] = {}
            escalations = Counter()
            for case_id, seq, trigger, data in conn.execute(text(
                    "SELECT case_id, seq, trigger, data FROM case_event ORDER BY case_id, seq")):
                seqs.setdefault(case_id, []).append(seq)
                if trigger == "escalate":
                    data = json.loads(data) if isinstance(data, str) else data
                    escalations[(case_id, data["clock"], data["cycle"], data["rung"], data["status"])] += 1
            outcomes = Counter(escalations)  # (case, clock, cycle, rung, status) -> events
            rows = Counter()
            statuses = Counter()
            for case_id, clock, cycle, rung, status in conn.execute(text(
                    "SELECT case_id, clock, cycle, rung, status FROM rung")):
                statuses[status] += 1
                rows[(case_id, clock, cycle, rung)] += 1
                # A proposal's row goes on to say what became of it (approved, declined, lapsed).
                settled = "proposed" if status in ("proposed", "approved", "declined", "lapsed") else status
                if settled in ("fired", "skipped", "proposed"):
                    escalations[(case_id, clock, cycle, rung, settled)] -= 1  # one row per event: back to zero
    finally:
        engine.dispose()
    for case_id, version in versions.items():
        if seqs.get(case_id) != list(range(1, version + 1)):
            problems.append(f"{case_id}: seqs {seqs.get(case_id, [])[:5]}... for version {version}")
    problems += [f"events of a case with no row: {c}" for c in set(seqs) - set(versions)]
    problems += [f"rung row twice: {k}" for k, n in rows.items() if n > 1]
    problems += [f"escalate events minus rung rows = {n} for {key}" for key, n in escalations.items() if n]
    per_rung = Counter()
    for key, n in outcomes.items():
        per_rung[key[:4]] += n
    problems += [f"rung escalated {n} times: {k}" for k, n in per_rung.items() if n > 1]
    return {"cases": len(versions), "events": sum(len(s) for s in seqs.values()), "rung_rows": dict(statuses),
            "escalations": sum(per_rung.values()), "problems": problems}


def due_unfired(db: str, now: str) -> int:
    """How many rungs `hazard escalation list --due` still lists at `now`."""
    done = hazard(db, "--json", "escalation", "list", "--due", "--limit", "100000", now=now)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["count"]


# -- a PostgreSQL cluster of the test's own -----------------------------------------------------------------

class ThrowawayCluster:
    """initdb into a temporary directory and serve it on a free port; never the shared server.

    As root (CI), initdb refuses to run: every server command then runs as the `postgres` OS user.
    """

    def __init__(self):
        import glob
        import pwd
        import shutil
        import socket
        import tempfile

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
        self.skip = "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed" if not found else None
        self.as_user: list[str] = []
        owner = None
        if not self.skip and os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                self.skip = "running as root, where initdb refuses, and there is no `postgres` OS user to run it as"
            if not shutil.which("runuser"):
                self.skip = "running as root, where initdb refuses, and `runuser` is missing"
            self.as_user = ["runuser", "-u", "postgres", "--"]
        if self.skip:
            return
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="hazard-chaos-pg-"))
        if owner:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.running = False

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(self.as_user + [str(self.bin / tool), *args], capture_output=True, text=True, timeout=90)
        if done.returncode:
            log = (self.dir / "server.log").read_text()[-2000:] if (self.dir / "server.log").exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}{log}")

    def create(self) -> None:
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def start(self) -> None:
        # fsync off: only clean stops (-m fast) are tested here, which lose nothing whatever the setting.
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=40 -c shared_buffers=16MB")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def destroy(self) -> None:
        import shutil
        if self.skip:
            return
        if self.running:
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["writer", "sweeper"])
    for name, kind in (("--db", str), ("--log", str), ("--t0", float), ("--end", float), ("--seed", int),
                       ("--cases", str), ("--pause", float), ("--stop", str)):
        parser.add_argument(name, type=kind, required=name in ("--db", "--log", "--t0", "--end"))
    args = parser.parse_args(argv)
    {"writer": writer, "sweeper": sweeper}[args.kind](args)


if __name__ == "__main__":
    main()
