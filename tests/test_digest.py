"""The daily digest (隐患日报): for each supervisor and committee member, the overdue cases of their reach, those due
within the next days and what awaits their verification; written once a day per channel, delivered by the outbox."""
from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from engine.app.digest import write_digests
from engine.domain import digest as pure
from engine.domain.clock import parse_time
from engine.store.tables import notifications
from tests.conftest import FIVE, cli_on, report, run_to

pytestmark = pytest.mark.usefixtures("collected")


def inbox_of(service, name):
    from engine.app.deliverer import inbox
    return [m for m in inbox(service, actor=name, everything=True) if m["case_id"] is None]


def test_a_supervisor_is_told_each_morning_what_is_overdue_due_soon_and_awaiting_verification(service):
    late = report(service, title="液氨储罐区未设置泄漏报警装置")
    run_to(service, late.id, "rectifying", fields={**FIVE, "deadline": "2026-03-10"})
    soon = report(service, title="配电室无挡鼠板")
    run_to(service, soon.id, "rectifying", fields={**FIVE, "deadline": "2026-03-13"})
    later = report(service, title="消防通道堵塞")
    run_to(service, later.id, "rectifying", fields={**FIVE, "deadline": "2026-04-30"})
    done = report(service, title="安全出口锁闭")
    run_to(service, done.id, "verifying", fields={**FIVE, "deadline": "2026-04-30"})

    written = write_digests(service, now=parse_time("2026-03-11T08:00"), days_ahead=3)
    assert written.day == "2026-03-11"
    [message] = inbox_of(service, "zhang")
    text = message["text"]
    assert text.splitlines()[0] == "【隐患日报】2026-03-11 zhang"
    assert "逾期未整改 1 件" in text and late.id in text and "期限 2026-03-10" in text
    assert "3 日内到期 1 件" in text and soon.id in text
    assert later.id not in text and done.id not in text
    assert "待您验收 1 件" in text
    assert inbox_of(service, "far") == []       # a supervisor in Henan has nothing of Heze's to hear
    assert "far" in written.skipped and "ent" not in written.skipped  # an enterprise gets no digest at all
    assert inbox_of(service, "ent") == []


def test_the_digest_is_written_once_a_day_however_often_it_runs(service):
    case = report(service)
    run_to(service, case.id, "rectifying", fields={**FIVE, "deadline": "2026-03-10"})
    first = write_digests(service, now=parse_time("2026-03-11T08:00"))
    again = write_digests(service, now=parse_time("2026-03-11T09:30"))
    assert first.messages > 0 and again.messages == 0 and again.held == first.messages
    assert [m["text"].splitlines()[0] for m in inbox_of(service, "zhang")] == ["【隐患日报】2026-03-11 zhang"]
    write_digests(service, now=parse_time("2026-03-12T08:00"))
    assert len(inbox_of(service, "zhang")) == 2
    assert service.audit.verify().breaks == []
    assert dict(service.audit.replay_all().disagreements) == {}  # a digest is no event of any case


def test_an_email_digest_waits_for_the_deliverer_and_records_no_case_event(service):
    service.commands.change_user("zhang", email="zhang@example.org", actor="zhang")
    case = report(service)
    run_to(service, case.id, "rectifying", fields={**FIVE, "deadline": "2026-03-10"})
    write_digests(service, now=parse_time("2026-03-11T08:00"))
    with service.store.read() as conn:
        mails = list(conn.execute(select(notifications).where(notifications.c.channel == "email")))
    assert [(m.recipient, m.status, m.case_id, m.address) for m in mails] == [
        ("zhang", "pending", "", "zhang@example.org")]


def test_hazard_notify_digest_json(runner, seeded_url):
    hz = cli_on(runner, seeded_url, actor="li", now="2026-03-02T09:00")
    done = hz("--json", "notify", "digest", "--days", "5")
    assert done.exit_code == 0, done.output
    assert set(json.loads(done.stdout)) == {"day", "readers", "messages", "held", "nothing_to_report"}
    bad = hz("--json", "notify", "digest", "--days", "99")
    assert bad.exit_code == 2 and "within 1 to 30 days, not 99" in bad.output


@given(st.lists(st.tuples(st.text(min_size=1, max_size=60), st.text(max_size=60)), max_size=30),
       st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=500))
def test_the_digest_text_names_at_most_ten_cases_a_part_and_counts_the_rest(items, more, verify):
    listed = tuple(pure.Listed(f"HZ-2026-{i:06d}", title, enterprise, "2026-03-10")
                   for i, (title, enterprise) in enumerate(items))
    digest = pure.Digest(day=date(2026, 3, 11), name="zhang", overdue=listed, overdue_total=len(listed) + more,
                         due_soon=(), due_soon_total=0, days_ahead=3, to_verify=verify, decisions=0)
    text = pure.text(digest)
    named = [line for line in text.splitlines() if line.startswith("  HZ-")]
    assert len(named) == min(len(listed), pure.SHOWN)
    if digest.overdue_total:
        assert f"逾期未整改 {digest.overdue_total} 件" in text
    hidden = digest.overdue_total - len(named)
    assert (f"另有 {hidden} 件" in text) == (hidden > 0)


def test_a_digest_instead_of_single_messages_keeps_them_in_the_inbox_and_mails_the_digest(service):
    """`--channels email,digest`: a submission reaches the supervisor's inbox but no longer their mailbox; the
    morning's digest goes to both."""
    service.commands.change_user("zhang", email="zhang@example.org", channels="email,digest", actor="zhang")
    service.commands.change_user("liu", email="liu@example.org", actor="liu")
    case = report(service)
    run_to(service, case.id, "verifying", fields={**FIVE, "deadline": "2026-03-10"})  # submit tells supervisors
    with service.store.read() as conn:
        told = {(r.recipient, r.channel) for r in conn.execute(
            select(notifications).where(notifications.c.case_id == case.id))}
    assert ("zhang", "inbox") in told and ("zhang", "email") not in told
    assert ("liu", "email") in told  # who did not choose the digest keeps single messages
    write_digests(service, now=parse_time("2026-03-11T08:00"))
    with service.store.read() as conn:
        digests = {(r.recipient, r.channel) for r in conn.execute(
            select(notifications).where(notifications.c.case_id == ""))}
    assert {("zhang", "inbox"), ("zhang", "email")} <= digests


@pytest.mark.parametrize("given", ["digest,digest", "sms", "email,webhook,digest,inbox,x"])
def test_a_channel_list_that_is_not_one_is_refused(service, given):
    from engine.domain.errors import InvalidInput
    with pytest.raises(InvalidInput, match="is not a list of inbox, email, webhook and digest"):
        service.commands.change_user("zhang", channels=given, actor="zhang")


def test_the_inbox_in_a_terminal_shows_each_message_whole_under_its_heading(runner, seeded_url):
    hz = cli_on(runner, seeded_url, actor="li", now="2026-03-02T09:00")
    from engine.app import Engine
    from engine.store.database import Store
    from engine.domain.clock import FixedClock
    engine = Engine(Store(seeded_url), clock=FixedClock(parse_time("2026-03-02T09:00")), trust_backdating=True)
    case = report(engine)
    run_to(engine, case.id, "rectifying", fields={**FIVE, "deadline": "2026-03-10"})
    write_digests(engine, now=parse_time("2026-03-11T08:00"))
    engine.close()
    shown = hz("inbox", actor="zhang")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("日报 · 2026-03-11 08:00 · 未读")
    assert lines[1] == "  【隐患日报】2026-03-11 zhang" and any(case.id in line for line in lines[2:])
    assert hz("inbox", actor="far").output.strip() == "no unread messages (--all shows the read ones too)"


def test_a_delivering_loop_writes_the_days_digests_once_at_its_hour(service, monkeypatch):
    """`hazard notify`, `scheduler --notify` and `serve --notify` give their loop a daily job at 08:00 (Asia/
    Shanghai, APScheduler's cron trigger): it writes the real day's digests, and a second loop's run writes none."""
    from engine.app import deliverer
    from engine.app import scheduler as loop
    from engine.domain.clock import FixedClock, local_date
    service.recorded_clock = FixedClock(parse_time("2026-03-11T08:00"))
    case = report(service)
    run_to(service, case.id, "rectifying", fields={**FIVE, "deadline": "2026-03-10"})
    assert deliverer.digest_round(service) == {"digests": 3}   # zhang, liu and li, whose reach holds the case
    assert deliverer.digest_round(service) == {}
    given = {}
    monkeypatch.setattr(loop, "run", lambda *args, **options: given.update(options))
    deliverer.run_loop(service, interval=10, log=print)
    hour, minute, job = given["daily"]
    assert (hour, minute) == (8, 0) and job() == {}
    deliverer.run_loop(service, interval=10, log=print, digest_at=None)
    assert given["daily"] is None
    assert local_date(service.recorded_clock.now()).isoformat() == "2026-03-11"
