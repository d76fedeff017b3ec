"""What HTTP adds: an advance, a case read and 我的待办 through `hazard serve` against the same calls through the
Python API, and what a bare request costs over the same server.

    .venv/bin/python bench/bench_http.py [--count 300] [--open 10000] [--workers 1,4] [--clients 8] [--seconds 60]
                                         [--pg URL]

One database (a SQLite file, or a schema of its own on PostgreSQL with --pg) holds cases reported and assigned
(the five implementations given), and as many more open cases (reported; every other one assigned) as make
`--open` open cases in the supervisor zhang's region (3717). Then, in this process:
- Python API: `Commands.advance_case(ID, "start", actor="ent")` on `--count` cases, one after the other,
  `Queries.case_view(ID, actor="ent")` + `case_document` (what `GET /cases/{id}` answers), and `Queries.work_for("zhang")` (what
  the page 我的待办 reads), timed per call;
- HTTP: `hazard serve --workers W` in processes of its own, and this process the client over loopback (httpx,
  one kept-alive connection): `GET /healthz` (one read of the database) and a `GET` of a path that does not exist (404: the
  application's routing and error document, nothing of the engine's), `POST
  /api/v1/cases/{id}/advance {"trigger": "start"}` with a bearer token on `--count` other cases, `GET
  /api/v1/cases/{id}`, and `GET /` (我的待办, rendered) with zhang's page session, one after the other (the
  latency), then advances with `--clients` threads at once (the throughput with W workers).
Before them, uvicorn serving a bare ASGI application (it reads the request and answers a small 404) takes the
same client's GET and the advance's POST: the floor under HTTP with nothing of ours in it, in the same run.
Every phase is bounded by its count and by `--seconds`. Latencies are p50 and p99 in milliseconds; "+N ms"
is what HTTP adds at p50 (the issue's goal: at most 1 ms for an advance; 我的待办 under 50 ms for 10,000 open
cases). The last line is the HTTP/Python ratio of the advance's p50 with the first worker count (read by
other tools).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.app import Engine  # noqa: E402
from engine.domain.clock import SystemClock  # noqa: E402
from engine.domain.documents import case_document  # noqa: E402
from engine.store.database import Store  # noqa: E402

HAZARD = str(Path(sys.executable).parent / "hazard")


def five() -> dict:
    deadline = (SystemClock().now() + timedelta(days=120)).date().isoformat()
    return {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装泄漏报警并联锁",
            "funds": "15万", "deadline": deadline, "emergency_plan": "液氨泄漏专项应急预案"}


PASSWORD = "bench password 1"


def prepare(url: str, cases: int, open_cases: int) -> tuple[Engine, list[str], str]:
    """An engine on a new database with `cases` assigned cases and more open ones up to `open_cases` in all, and a
    token of the enterprise's user (the supervisor zhang signs in with PASSWORD)."""
    engine = Engine(Store(url, create=True))
    engine.init(admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717")):
        engine.commands.add_user(name, roles=[role], regions=[region], actor="li")
    fields, ids = five(), []
    with engine.batch() as commands:
        for n in range(cases):
            case = commands.report_case(actor="ent", workflow="major-hazard", title=f"液氨储罐区未设置泄漏报警装置{n}",
                                        enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                        level="major", source="self_check")
            commands.advance_case(case.id, "assign", actor="zhang", fields=fields)
            ids.append(case.id)
    done = len(ids)
    while done < open_cases:  # 我的待办's load: as bench_work.py seeds it
        with engine.batch() as commands:
            for n in range(done, min(done + 500, open_cases)):
                case = commands.report_case(actor="ent", workflow="major-hazard", title=f"隐患 {n}",
                                            enterprise=f"企业{n % 300}", region="371721", industry="危险化学品",
                                            level="major", source="inspection")
                if n % 2:
                    commands.advance_case(case.id, "assign", actor="zhang", fields=fields)
        done = min(done + 500, open_cases)
    if engine.store.dialect == "postgresql":  # what autovacuum does within a minute of a bulk load
        with engine.store.db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE hazard_case")
            conn.exec_driver_sql("VACUUM ANALYZE rung")
    engine.commands.set_password("zhang", PASSWORD, actor="li")
    token = engine.commands.issue_token("ent", actor="li")[0].text
    return engine, ids, token


def timed(calls, limit: float) -> list[float]:
    """Milliseconds of each call, until they are done or `limit` seconds have passed."""
    spent, end = [], time.perf_counter() + limit
    for call in calls:
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > end:
            break
    return spent


def percentiles(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Server:
    def __init__(self, url: str, workers: int):
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}, "HAZARD_DB": url}
        self.process = subprocess.Popen([HAZARD, "serve", "--port", "0", "--workers", str(workers)], env=env,
                                        stderr=subprocess.PIPE, text=True)
        for line in self.process.stderr:
            if line.startswith("listening on "):
                self.url = line.split()[-1]
                return
        raise SystemExit(f"hazard serve did not start (exit {self.process.wait()})")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


class Bare:
    """uvicorn serving `bare` (below), as `hazard serve` runs uvicorn: what a request costs over this server and
    this client with nothing of ours in it, the floor under the goal's 1 ms."""

    def __init__(self):
        import socket
        with socket.socket() as probe:  # a free port (uvicorn, told port 0, does not say which it took)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench_http:bare", "--app-dir",
                                         str(Path(__file__).parent), "--port", str(port), "--lifespan", "off",
                                         "--log-level", "warning", "--no-access-log"])
        end = time.perf_counter() + 30
        while time.perf_counter() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("uvicorn did not start for the floor")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


async def bare(scope, receive, send):
    """An ASGI application that reads the request and answers a small JSON 404, whatever was asked."""
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"error":{"type":"NotFound","exit_code":5}}'
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def concurrently(url: str, headers: dict, paths: list[tuple[str, str, dict | None]], clients: int,
                 limit: float) -> tuple[int, float]:
    """(requests done, seconds) with `clients` threads sharing the list, each with its own connection."""
    import httpx
    todo, lock, done = list(paths), threading.Lock(), [0]
    end = time.perf_counter() + limit

    def work():
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            while time.perf_counter() < end:
                with lock:
                    if not todo:
                        return
                    method, path, body = todo.pop()
                answer = client.request(method, path, json=body)
                assert answer.status_code == 200, answer.text
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=work) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], time.perf_counter() - start


def line(label: str, http: list[float], python: list[float] | None = None) -> str:
    p50, p99 = percentiles(http)
    text = f"{label:<34} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  ({len(http)} calls)"
    if python is not None:
        base50, _ = percentiles(python)
        text += f"  python p50 {base50:6.2f} ms: {p50 - base50:+.2f} ms, {p50 / base50:.2f}x"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="advances per phase (and reads)")
    parser.add_argument("--open", type=int, default=10_000,
                        help="open cases in the supervisor's region, for 我的待办 (at most 50,000)")
    parser.add_argument("--workers", default="1,4", help="worker counts to serve with, comma-separated")
    parser.add_argument("--clients", type=int, default=8, help="client threads in the throughput phase")
    parser.add_argument("--seconds", type=float, default=60, help="the most any phase runs")
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL (a schema of its own is made and dropped)")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    import httpx

    schema = None
    if args.pg:
        from sqlalchemy import create_engine, text
        schema = f"bench_http_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-http-')}/h.db"
    per_phase = args.count
    began = time.perf_counter()
    engine, ids, token = prepare(url, per_phase * (1 + 2 * len(workers)), min(args.open, 50_000))
    reads = min(per_phase, 100)  # 我的待办 reads a page of a region's open cases: fewer of them
    work = engine.queries.work_for("zhang")
    print(f"{'sqlite' if not args.pg else 'postgresql'}: {len(ids)} assigned cases, {work.counts} open for zhang "
          f"(seeded in {time.perf_counter() - began:.0f} s); {per_phase} calls a phase, {reads} of 我的待办")
    try:
        python_advance = timed((lambda i=i: engine.commands.advance_case(i, "start", actor="ent")
                                for i in ids[:per_phase]), args.seconds)
        python_read = timed((lambda i=i: case_document((v := engine.queries.case_view(i, actor="ent")).case,
                                                       engine.clock.now(),
                                                       rungs=v.rungs, linked=v.linked) for i in ids[:per_phase]),
                            args.seconds)
        python_work = timed((lambda: engine.queries.work_for("zhang") for _ in range(reads)), args.seconds)
        print(line("python: advance", python_advance))
        print(line("python: case read", python_read))
        print(line("python: 我的待办 work_for", python_work))
        engine.close()
        rest, ratios = ids[per_phase:], []
        headers = {"Authorization": f"Bearer {token}"}
        floor = Bare()
        try:
            with httpx.Client(base_url=floor.url, headers=headers, timeout=60) as client:
                for _ in range(20):
                    client.get("/")
                bare_get = timed((lambda: _ok(client.get("/nothing-here"), 404) for _ in range(per_phase)),
                                 args.seconds)
                bare_post = timed((lambda i=i: _ok(client.post(f"/api/v1/cases/{i}/advance", json={"trigger": "start"}),
                                                   404) for i in ids[:per_phase]), args.seconds)
        finally:
            floor.stop()
        print(line("bare uvicorn: GET 404 (floor)", bare_get))
        print(line("bare uvicorn: POST an advance's body", bare_post))
        added = []
        for count in workers:
            server = Server(url, count)
            try:
                with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                    for _ in range(20):  # warm up: connections, the workers' caches
                        client.get("/api/v1/me")
                    health = timed((lambda: _ok(client.get("/healthz")) for _ in range(per_phase)), args.seconds)
                    missing = timed((lambda: _ok(client.get("/nothing-here"), 404) for _ in range(per_phase)),
                                    args.seconds)
                    mine, rest = rest[:per_phase], rest[per_phase:]
                    http_advance = timed((lambda i=i: _ok(client.post(f"/api/v1/cases/{i}/advance",
                                                                      json={"trigger": "start"})) for i in mine),
                                         args.seconds)
                    http_read = timed((lambda i=i: _ok(client.get(f"/api/v1/cases/{i}")) for i in mine), args.seconds)
                browser = signed_in(server.url)
                try:
                    for _ in range(min(reads, 5)):  # warm up: the templates
                        _ok(browser.get("/"))
                    http_work = timed((lambda: _ok(browser.get("/")) for _ in range(reads)), args.seconds)
                finally:
                    browser.close()
                print(line(f"http {count} worker(s): GET /healthz", health))
                print(line(f"http {count} worker(s): GET 404", missing))
                print(line(f"http {count} worker(s): advance", http_advance, python_advance))
                print(line(f"http {count} worker(s): case read", http_read, python_read))
                print(line(f"http {count} worker(s): GET / 我的待办", http_work, python_work))
                ratios.append(percentiles(http_advance)[0] / percentiles(python_advance)[0])
                added.append(percentiles(http_advance)[0] - percentiles(python_advance)[0])
                loaded, rest = rest[:per_phase], rest[per_phase:]
                done, seconds = concurrently(server.url, headers, [("POST", f"/api/v1/cases/{i}/advance",
                                                                    {"trigger": "start"}) for i in loaded],
                                             args.clients, args.seconds)
                print(f"http {count} worker(s), {args.clients} clients: {done / seconds:7.1f} advances/s "
                      f"({done} in {seconds:.1f} s)")
            finally:
                server.stop()
        base = percentiles(bare_post)[0]
        print(f"HTTP adds {added[0]:+.2f} ms at p50 to an advance ({workers[0]} worker; the goal: at most 1 ms), "
              f"of which {base:.2f} ms is the bare server's and client's own POST, {added[0] - base:+.2f} ms ours")
        print(f"advance over HTTP / Python API at p50 ({workers[0]} worker): {ratios[0]:.2f}x")
    finally:
        if schema:
            from sqlalchemy import create_engine, text
            with create_engine(args.pg).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _ok(answer, status: int = 200):
    assert answer.status_code == status, answer.text
    return answer


def signed_in(url: str):
    """An httpx client with zhang's page session (the log-in form as a browser sends it)."""
    import httpx
    client = httpx.Client(base_url=url, timeout=60)
    form = _ok(client.get("/login")).text
    login_token = form.split('name="login_token" value="')[1].split('"')[0]
    _ok(client.post("/login", data={"name": "zhang", "password": PASSWORD, "login_token": login_token}), 303)
    return client


if __name__ == "__main__":
    main()
