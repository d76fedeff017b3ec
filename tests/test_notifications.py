"""Notifications: written with the events that set them off, delivered at least once through a real SMTP server
and a local webhook receiver, each delivery recorded in the case's log, which replay and verify still accept."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.app.deliverer import deliver_all, set_channel, status
from engine.domain.clock import FixedClock, SystemClock, parse_time
from engine.domain.errors import DefinitionInvalid
from engine.store.tables import notifications
from tests.conftest import FIVE, START, report, run_to

pytestmark = pytest.mark.usefixtures("collected")
SECRET = "s3cret-of-sixteen-chars"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows(service, **where):
    with service.store.read() as conn:
        stmt = select(notifications).order_by(notifications.c.id)
        for key, value in where.items():
            stmt = stmt.where(notifications.c[key] == value)
        return list(conn.execute(stmt))


def told(service, case_id):
    return [e.data["notification"] for e in service.queries.history(case_id) if e.trigger == "notify"]


@pytest.fixture
def real_clock(service):
    """The recording clock fixed at the real time, so a test can wait out a retry delay by advancing it."""
    clock = FixedClock(SystemClock().now())
    service.recorded_clock = clock
    return clock


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, keeping what it receives."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.mails = []

        async def handle_DATA(self, server, session, envelope):
            self.mails.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def receiver():
    """A local webhook receiver: keeps each POST's body, signature and idempotency key; /gone answers 404."""
    got, lock = [], threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/gone":
                self.send_response(404)
                self.end_headers()
                return
            with lock:
                got.append((body, self.headers["X-Hazard-Signature"], self.headers["Idempotency-Key"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def assert_log_holds(service):
    assert service.audit.verify().breaks == []
    assert dict(service.audit.replay_all().disagreements) == {}


def test_assignment_tells_the_enterprise_and_a_submission_the_supervisors(service):
    """The shipped major-hazard rules: `assign` puts a message in the enterprise user's inbox, naming the case and
    its deadline; `submit` one in each supervisor's over the region, and nobody else's."""
    case = report(service)
    run_to(service, case.id, "assigned")
    inbox = service_inbox(service, "ent")
    assert [m["case_id"] for m in inbox] == [case.id]
    assert case.id in inbox[0]["text"] and FIVE["deadline"] in inbox[0]["text"] and inbox[0]["read"] is False
    assert service_inbox(service, "zhang") == []
    run_to(service, case.id, "verifying")
    assert {r.recipient for r in rows(service, channel="inbox", seq=service.queries.case(case.id).version)} == \
        {"zhang", "liu"}  # the supervisors over 3717; `far` (Henan) is not told


def service_inbox(service, name):
    from engine.app.deliverer import inbox
    return inbox(service, actor=name, everything=True)


def test_a_rolled_back_command_writes_no_notification(service):
    """An assignment inside a batch that fails afterwards leaves no message behind, as it leaves no event."""
    case = report(service)
    with pytest.raises(RuntimeError):
        with service.batch() as batch:
            batch.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
            raise RuntimeError("the batch fails after the assignment")
    assert rows(service) == []
    assert service.queries.case(case.id).state == "reported"


def test_mail_through_a_real_smtp_server_after_an_outage(service, real_clock, smtp_server):
    """With the SMTP server down the mail waits (pending, tried once); after the retry delay, with the server up,
    it is delivered once, and a `notify` event records who was told, when, through which channel."""
    controller, handler = smtp_server
    service.commands.change_user("ent", actor="li", email="ent@example.cn")
    down = free_port()
    set_channel(service, "smtp", actor="li", host="127.0.0.1", port=down, sender="aq@example.cn")
    case = report(service)
    run_to(service, case.id, "assigned")
    first = deliver_all(service)
    assert (first.sent, first.retried) == (0, 1)
    [mail] = rows(service, channel="email")
    assert (mail.status, mail.attempts, mail.address) == ("pending", 1, "ent@example.cn")
    set_channel(service, "smtp", actor="li", host="127.0.0.1", port=controller.port, sender="aq@example.cn")
    assert deliver_all(service).sent == 0  # not before its retry is due
    real_clock.advance(minutes=1)
    assert deliver_all(service).sent == 1
    [(to, content)] = handler.mails
    assert to == ["ent@example.cn"] and mail.key in content
    assert deliver_all(service).sent == 0  # sent is sent: never again
    [event] = told(service, case.id)
    assert (event["channel"], event["status"], event["recipient"], event["attempts"]) == ("email", "sent", "ent", 2)
    assert status(service)["email"] == {"pending": 0, "sent": 1, "failed": 0}
    assert_log_holds(service)


def test_webhook_is_signed_and_a_rejected_url_fails_for_good(service, receiver):
    """The webhook body is signed with HMAC-SHA256 of the channel's secret and carries the idempotency key; a URL
    the receiver answers 404 is not retried: the message fails, and the failure is recorded on the case."""
    url, got = receiver
    service.commands.change_user("ent", actor="li", webhook=f"{url}/hook")
    service.commands.change_user("zhang", actor="li", webhook=f"{url}/gone")
    set_channel(service, "webhook", actor="li", secret=SECRET)
    case = report(service)
    run_to(service, case.id, "verifying")
    done = deliver_all(service)
    assert (done.sent, done.failed) == (1, 1)
    [(body, signature, key)] = got
    assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert json.loads(body)["case_id"] == case.id and json.loads(body)["key"] == key
    failed = [e for e in told(service, case.id) if e["status"] == "failed"]
    assert [(e["recipient"], e["channel"]) for e in failed] == [("zhang", "webhook")] and "404" in failed[0]["error"]
    assert deliver_all(service).failed == 0  # failed for good: not tried again
    _, trace = service.audit.trace_case(case.id)
    assert {(a["notification"]["recipient"], a["notification"]["status"]) for a in trace["actions"]
            if a["trigger"] == "notify"} == {("ent", "sent"), ("zhang", "failed")}  # `audit trace`: told on D
    assert_log_holds(service)


def test_two_deliverers_at_once_send_each_message_once(service, receiver):
    """Two deliverers racing over the same outbox (SKIP LOCKED on PostgreSQL, one writer on SQLite): every
    message reaches the receiver exactly once."""
    url, got = receiver
    service.commands.change_user("ent", actor="li", webhook=f"{url}/hook")
    set_channel(service, "webhook", actor="li", secret=SECRET)
    for _ in range(12):
        run_to(service, report(service).id, "assigned")
    expected = {r.key for r in rows(service, channel="webhook")}
    assert len(expected) == 12
    errors = []

    def run(name):
        try:
            deliver_all(service, deliverer_id=name, limit=3)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"d{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = [key for _, _, key in got]
    assert sorted(keys) == sorted(expected)  # each once: no duplicate, none missing
    assert status(service)["webhook"]["sent"] == 12


def test_a_secret_is_never_printed_back(service, runner, seeded_url):
    """`notify channel set webhook` answers "(set)", and the users' log keeps only the secret's digest."""
    from cli.main import cli
    done = runner.invoke(cli, ["--db", seeded_url, "--actor", "li", "--json", "notify", "channel", "set", "webhook",
                               "--secret", SECRET])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"channel": "webhook", "secret": "(set)"}
    log = runner.invoke(cli, ["--db", seeded_url, "--json", "user", "log"]).stdout
    assert SECRET not in log and "sha256:" in log
    refused = runner.invoke(cli, ["--db", seeded_url, "--actor", "zhang", "notify", "channel", "set", "webhook",
                                  "--secret", SECRET])
    assert refused.exit_code != 0 and "committee" in refused.stderr
    assert runner.invoke(cli, ["--db", seeded_url, "audit", "verify"]).exit_code == 0


def test_contacts_are_recorded_in_the_users_log(service, runner, seeded_url):
    """`user change --email --phone --webhook` is a grant of the users' log; a bad address is refused by name."""
    from cli.main import cli
    done = runner.invoke(cli, ["--db", seeded_url, "--actor", "ent", "user", "change", "ent", "--email",
                               "ent@example.cn", "--phone", "+86 138 0000 0000"])
    assert done.exit_code == 0, done.output
    log = json.loads(runner.invoke(cli, ["--db", seeded_url, "--json", "user", "log"]).stdout)
    assert log[-1]["action"] == "contact" and log[-1]["data"]["email"] == "ent@example.cn"
    bad = runner.invoke(cli, ["--db", seeded_url, "--actor", "li", "user", "change", "ent", "--webhook", "ftp://x"])
    assert bad.exit_code != 0 and "webhook" in bad.stderr
    assert runner.invoke(cli, ["--db", seeded_url, "audit", "verify"]).exit_code == 0


def test_inbox_json_and_read(service, runner, seeded_url):
    """`hazard inbox --json` lists case_id, text, created_at, read; `--read` marks them, `--all` still shows them."""
    from cli.main import cli
    from engine.app import Engine
    from engine.store.database import Store
    engine = Engine(Store(seeded_url), clock=FixedClock(parse_time(START)), trust_backdating=True)
    case = report(engine)
    engine.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    engine.close()
    found = json.loads(runner.invoke(cli, ["--db", seeded_url, "--actor", "ent", "--json", "inbox", "--read"]).stdout)
    assert [(m["case_id"], m["read"]) for m in found] == [(case.id, False)]
    assert set(found[0]) >= {"case_id", "text", "created_at", "read"}
    assert json.loads(runner.invoke(cli, ["--db", seeded_url, "--actor", "ent", "--json", "inbox"]).stdout) == []
    again = json.loads(runner.invoke(cli, ["--db", seeded_url, "--actor", "ent", "--json", "inbox", "--all"]).stdout)
    assert [m["read"] for m in again] == [True]


BAD = """\
workflow: w
roles: [inspector]
fields:
  deadline: {type: date}
states:
  a: {initial: true}
  b: {final: true}
report:
  roles: [inspector]
transitions:
  - trigger: go
    from: a
    to: b
    roles: [inspector]
    notify:
      - to: [enterprise, neighbours]
        text: "{{ case.nope }} {{ fields.deadline }}"
      - to: [supervisors]
        text: "{{ unclosed"
"""


def test_bad_notify_rules_are_refused_with_file_and_line():
    """An unknown recipient, an unknown case attribute and a template that does not parse are each named at
    their line."""
    from engine.domain.definition.parse import parse_text
    with pytest.raises(DefinitionInvalid) as exc:
        parse_text(BAD, "bad.yaml")
    problems = {(line, message.split(":")[0]) for _, line, message in exc.value.problems}
    lines = {line for line, _ in problems}
    assert {16, 17, 19} <= lines
    text = str(exc.value)
    assert "neighbours" in text and "case.nope" in text


def test_a_deliverer_killed_mid_batch_loses_nothing(service, db_url, tmp_path):
    """kill -9 of a deliverer while a receiver holds its third request: once its lease has run out, another
    deliverer sends every message; a message sent twice is sent with the same idempotency key and body."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    got, third, lock = [], threading.Event(), threading.Lock()
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                got.append((self.headers["Idempotency-Key"], body))
                hold = len(got) == 3
            if hold:
                third.set()
                release.wait(10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        service.commands.change_user("ent", actor="li", webhook=url)
        set_channel(service, "webhook", actor="li", secret=SECRET)
        for _ in range(6):
            run_to(service, report(service).id, "assigned")
        expected = {r.key for r in rows(service, channel="webhook")}
        script = ("import sys; from datetime import timedelta; from engine.app import Engine; "
                  "from engine.store.database import Store; from engine.app.deliverer import deliver_all; "
                  "deliver_all(Engine(Store(sys.argv[1])), lease=timedelta(seconds=1), limit=10)")
        child = subprocess.Popen([sys.executable, "-c", script, db_url], cwd=Path(__file__).resolve().parent.parent,
                                 env={**os.environ})
        assert third.wait(60), "the deliverer never reached the third message"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        release.set()
        time.sleep(1.5)  # the dead deliverer's lease (1 s) runs out: not a timing assertion, a precondition
        deliver_all(service)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    keys = [key for key, _ in got]
    assert set(keys) == expected  # every message delivered
    bodies = {}
    for key, body in got:
        assert bodies.setdefault(key, body) == body  # a repeat is the same message, same key
    assert status(service)["webhook"] == {"pending": 0, "sent": 6, "failed": 0}
    assert_log_holds(service)


def test_a_contact_edited_in_the_table_is_caught_by_verify(service):
    """The contacts table is the users' log's projection: an address changed by hand is named by `audit verify`."""
    from sqlalchemy import update

    from engine.store.tables import user_contacts
    service.commands.change_user("ent", actor="li", email="ent@example.cn")
    assert service.audit.verify().breaks == []
    with service.store.write() as conn:
        conn.execute(update(user_contacts).where(user_contacts.c.name == "ent"), {"email": "thief@example.cn"})
    assert any("contact of ent" in b.problem for b in service.audit.verify().breaks)


@given(text=st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_contact_values_are_accepted_or_refused_never_crash(text):
    """Whatever is typed as an e-mail, phone or URL is either kept (stripped) or refused with InvalidInput."""
    from engine.domain.errors import InvalidInput
    from engine.domain.notifications import check_contact
    for key in ("email", "phone", "webhook"):
        try:
            found = check_contact(**{"email": None, "phone": None, "webhook": None, key: text})
        except InvalidInput as exc:
            assert exc.field == key
        else:
            assert found == {key: text.strip()} and not any(ord(c) < 32 for c in text.strip())


def test_chosen_channels_and_quiet_hours(service, real_clock, receiver):
    """A user who chose the inbox only gets no webhook message; one in their quiet hours gets it when they end."""
    from datetime import datetime

    from engine.domain.clock import SHANGHAI
    url, got = receiver
    set_channel(service, "webhook", actor="li", secret=SECRET)
    service.commands.change_user("zhang", actor="li", webhook=f"{url}/hook", channels="none")
    service.commands.change_user("ent", actor="ent", webhook=f"{url}/hook", quiet="22:00-07:00")
    real_clock.at = datetime(2026, 12, 8, 23, 30, tzinfo=SHANGHAI)
    case = report(service)
    run_to(service, case.id, "verifying")  # assign tells ent; submit tells the supervisors zhang and liu
    assert {r.recipient for r in rows(service, channel="webhook")} == {"ent"}  # zhang chose the inbox only
    assert deliver_all(service).quiet == 1 and got == []
    real_clock.at = datetime(2026, 12, 9, 7, 0, tzinfo=SHANGHAI)  # the quiet hours are over
    assert deliver_all(service).sent == 1 and len(got) == 1


@pytest.mark.parametrize("window,at,until", [
    ("22:00-07:00", "23:30", "2026-12-09T07:00"), ("22:00-07:00", "06:59", "2026-12-08T07:00"),
    ("22:00-07:00", "07:00", None), ("12:00-13:30", "12:10", "2026-12-08T13:30"), ("12:00-13:30", "21:00", None)])
def test_quiet_until(window, at, until):
    """The end of the quiet hours holding a moment, across midnight too; None outside them."""
    from datetime import datetime

    from engine.domain.clock import SHANGHAI
    from engine.domain.notifications import quiet_until
    hour, minute = map(int, at.split(":"))
    found = quiet_until(window, datetime(2026, 12, 8, hour, minute, tzinfo=SHANGHAI))
    assert (found.strftime("%Y-%m-%dT%H:%M") if found else None) == until


def arrived(got: list) -> None:
    """Wait until the receiver has a request: up to a minute for a loaded machine (the test asserts on what came)."""
    for _ in range(600):
        if got:
            return
        time.sleep(0.1)


def hooked(service, receiver) -> list:
    """`ent` reached by webhook at the receiver, the channel set: what the receiver gets."""
    url, got = receiver
    service.commands.change_user("ent", actor="li", webhook=f"{url}/hook")
    set_channel(service, "webhook", actor="li", secret=SECRET)
    return got


def test_the_scheduler_delivers_with_notify(service, db_url, receiver):
    """`hazard scheduler --notify` delivers in a thread beside its sweeps, and both stop at SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    got = hooked(service, receiver)
    run_to(service, report(service).id, "assigned")
    hazard = str(Path(sys.executable).with_name("hazard"))
    child = subprocess.Popen([hazard, "--db", db_url, "scheduler", "--interval", "0.5", "--notify"],
                             stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        arrived(got)
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    assert got and child.returncode == 0, err
    assert "deliverer stopped" in err and "scheduler stopped" in err
    # The sweep, at the real time, also fired the long-past deadline's warning, which tells `ent` too.
    keys = [key for _, _, key in got]
    assert len(set(keys)) == len(keys) and status(service)["webhook"]["sent"] >= 1


def test_warnings_tell_the_enterprise_and_a_sanction_only_once_approved(service, clock):
    """The sweep's red warning at the deadline tells the enterprise and the supervisors; the interview it proposes
    a week later tells nobody until the committee approves it, and then the enterprise is told of it."""
    from engine.app.sweep import sweep
    from engine.domain.clock import parse_time
    case = report(service)
    run_to(service, case.id, "rectifying")
    sweep(service, now=parse_time("2026-05-01T09:00"))  # past the deadline: the warnings and the notice fire
    texts = [m["text"] for m in service_inbox(service, "ent")]
    assert any("红色预警" in t for t in texts) and any("实名通报" in t for t in texts)
    assert any("红色预警" in m["text"] for m in service_inbox(service, "zhang"))  # overdue: the supervisors
    clock.advance(days=70)
    sweep(service, now=clock.now())
    assert not any("约谈" in m["text"] for m in service_inbox(service, "ent"))  # proposed, not decided
    service.commands.decide(case.id, "interview", "approve", actor="li", reason="逾期未整改")
    assert any("约谈" in m["text"] for m in service_inbox(service, "ent"))
    assert_log_holds(service)


def test_a_channel_setting_edited_by_hand_is_not_obeyed(service, smtp_server):
    """A mail server swapped in the settings table, outside the users' log, is not used: the mail waits, the
    round says why, and `audit verify` names the setting."""
    from sqlalchemy import update

    from engine.store.tables import settings
    controller, handler = smtp_server
    service.commands.change_user("ent", actor="li", email="ent@example.cn")
    set_channel(service, "smtp", actor="li", host="127.0.0.1", port=free_port())
    run_to(service, report(service).id, "assigned")
    forged = json.dumps({"host": "127.0.0.1", "port": controller.port, "sender": None, "starttls": False,
                         "user": None}, sort_keys=True)
    with service.store.write() as conn:
        conn.execute(update(settings).where(settings.c.key == "notify.smtp"), {"value": forged})
    done = deliver_all(service)
    assert (done.sent, done.waiting, handler.mails) == (0, 1, [])
    assert any("notify.smtp" in e for e in done.errors)
    assert any("notify.smtp" in b.problem for b in service.audit.verify().breaks)


def test_serve_delivers_with_notify(service, db_url, receiver):
    """`hazard serve --notify` delivers in a thread of each worker beside the requests, and stops with it."""
    import signal

    from tests.test_web_serve import Served
    got = hooked(service, receiver)
    case = report(service)
    run_to(service, case.id, "assigned")
    served = Served(db_url, "--notify")
    try:
        arrived(got)
    finally:
        code, stderr = served.stop(signal.SIGTERM)
    assert got and code == 0, stderr
    assert json.loads(got[0][0])["case_id"] == case.id and "Traceback" not in stderr
    assert [e["status"] for e in told(service, case.id)] == ["sent"]
