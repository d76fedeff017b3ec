"""The event log's anchor: a Merkle root over every case's chain head that catches what `audit verify` cannot.

A forger with database access who rewrites an event, re-hashes the rest of its chain and fixes the case row
passes `verify` (every link holds) and `replay` (the forged step is legal); the newest case deleted with the
counter rewound, or a removed last event with its case row rewound, passes verify too. An anchor published
before catches each of them.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import and_, delete, update

from engine.domain import anchor
from engine.domain.clock import parse_time
from engine.domain.errors import InvalidInput
from engine.domain.events import Event
from engine.store.tables import cases, counters, events, notice_counters, notices, rungs
from tests.conftest import report, run_to

T = parse_time("2026-03-10T12:00")


def rfc6962(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written as the RFC writes it (split at the largest power of two below n)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962(leaves[:k]) + rfc6962(leaves[k:])).digest()


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70))
def test_the_root_is_rfc_6962s_merkle_tree_hash(leaves):
    """Pairing level by level and carrying the odd node up gives RFC 6962's tree hash for any number of leaves."""
    assert anchor.merkle_root(leaves) == rfc6962(leaves).hex()


def test_the_empty_log_and_a_single_case():
    """No case: the hash of the empty string (RFC 6962); one case: its leaf."""
    assert anchor.merkle_root([]) == hashlib.sha256(b"").hexdigest()
    head = ("HZ-2026-000001", 3, "ab" * 32)
    assert anchor.merkle_root([anchor.leaf_hash(head)]) == anchor.leaf_hash(head).hex()


def test_the_line_reads_back_and_nothing_else_does():
    """The printed line parses to the same anchor (with or without the word `anchor`); anything else is refused."""
    found, _ = anchor.compute([("HZ-2026-000002", 2, "cd" * 32), ("HZ-2026-000001", 5, "ab" * 32)], events=7, as_of=T)
    assert anchor.parse(found.line()) == found and anchor.parse(found.line()[len("anchor "):]) == found
    assert found.line().startswith("anchor 2026-03-10T12:00:00+08:00 cases=2 events=7 root=")
    for text in ("", "anchor yesterday cases=1 events=1 root=00", found.line().replace("root=", "root=zz"),
                 found.line() + " extra"):
        with pytest.raises(InvalidInput):
            anchor.parse(text)


def test_a_line_copied_with_quotes_or_the_bulletins_full_stop_reads_but_a_shortened_root_says_what_is_needed():
    """What users copy: the line in quotes, from the bulletin's sentence (its colon before, 。 after), an
    upper-case root: all read. A root shortened as docs/audit.md shows one (39e8a216...23c7a) is refused, saying
    that all 64 hex digits are compared and what the line looks like."""
    found, _ = anchor.compute([("HZ-2026-000001", 5, "ab" * 32)], events=5, as_of=T)
    line = found.line()
    for copied in (f'"{line}"', f"{line}。", f"事件日志锚点（截至 2026-03-10 12:00）：{line}。", f"  '{line}'\n",
                   line.replace(found.root, found.root.upper())):
        assert anchor.parse(copied) == found, copied
    for short in (f"{found.root[:8]}...{found.root[-5:]}", f"{found.root[:8]}…{found.root[-5:]}", found.root[:12]):
        with pytest.raises(InvalidInput, match="is shortened: verifying compares all 64 hex digits; expected anchor "
                                               "TIME cases=N events=N root=<64 hex digits>"):
            anchor.parse(line.replace(found.root, short))


def test_the_order_of_the_heads_does_not_matter_but_every_byte_does():
    """Heads are sorted by case id; changing one sequence number or one hash changes the root."""
    heads = [("HZ-2026-000002", 2, "cd" * 32), ("HZ-2026-000001", 5, "ab" * 32)]
    root = anchor.compute(heads, events=7, as_of=T)[0].root
    assert anchor.compute(heads[::-1], events=7, as_of=T)[0].root == root
    assert anchor.compute([heads[0], ("HZ-2026-000001", 4, "ab" * 32)], events=7, as_of=T)[0].root != root
    assert anchor.compute([heads[0], ("HZ-2026-000001", 5, "ac" + "ab" * 31)], events=7, as_of=T)[0].root != root


def test_a_heads_file_is_accepted_only_if_it_hashes_to_the_root():
    """The published heads file reads back; one edited line, a dropped line, another anchor: refused."""
    found, heads = anchor.compute([("HZ-2026-000002", 2, "cd" * 32), ("HZ-2026-000001", 5, "ab" * 32)], events=7,
                                  as_of=T)
    text = anchor.heads_text(found, heads)
    assert anchor.parse_heads(text, found) == {"HZ-2026-000001": (5, "ab" * 32), "HZ-2026-000002": (2, "cd" * 32)}
    for forged in (text.replace(" 5 ", " 4 "), "\n".join(text.splitlines()[:-1]), text.replace("events=7", "events=8")):
        with pytest.raises(InvalidInput):
            anchor.parse_heads(forged, found)


# -- against a real log ---------------------------------------------------------------------------------------
@pytest.fixture
def published(service):
    """Three major hazards verified by 03-03 (six events each: the rectification photo attached before submit); the
    anchor and heads published at T; one more step after T."""
    ids = [report(service, title=f"重大隐患 {i}").id for i in range(3)]
    for case_id in ids:
        run_to(service, case_id, "verified")
    line, heads = service.audit.anchor(as_of=T)
    return ids, line, anchor.heads_text(line, heads)


def test_the_anchor_counts_cases_and_events_in_force_at_its_moment(service, published):
    """Events after the moment do not count; at the moment every case's last event then is its head."""
    ids, line, _ = published
    assert (line.cases, line.events) == (3, 18)
    assert service.audit.anchor(as_of=parse_time("2026-03-01T00:00"))[0].cases == 0


def test_later_events_and_cases_leave_a_published_anchor_holding(service, published):
    """Closing a case and reporting another after the moment change nothing the anchor vouches for."""
    ids, line, heads = published
    service.commands.advance_case(ids[0], "close", actor="li", now=T + timedelta(days=1))
    report(service, title="之后上报的隐患", now=T + timedelta(days=2))
    check = service.audit.check_anchor(line.line(), heads=heads)
    assert check.holds and check.differences == []


def _rewrite_responsible_person(service, case_id: str) -> None:
    """Change who was made responsible at `assign`, re-hash the rest of the chain, fix the case row to match."""
    log = service.queries.history(case_id)
    forged, prev = [], log[0].hash
    for event in log[1:]:
        data = event.data
        if event.trigger == "assign":
            data = {**data, "fields": {**data["fields"], "responsible_person": "替罪羊"}}
        changed = Event(**{**event.__dict__, "data": data, "prev_hash": prev}).sealed()
        forged.append(changed)
        prev = changed.hash
    stored = service.queries.case(case_id)
    with service.store.write() as conn:
        for event in forged:
            conn.execute(update(events).where(and_(events.c.case_id == case_id, events.c.seq == event.seq)),
                         {"data": event.data, "prev_hash": event.prev_hash, "hash": event.hash})
        # a careful forger also re-hashes the row, as the engine would have written it
        from dataclasses import replace as rebuilt
        from engine.domain.case import digest
        fields = {**stored.fields, "responsible_person": "替罪羊"}
        conn.execute(update(cases).where(cases.c.id == case_id),
                     {"last_hash": prev, "responsible_person": "替罪羊", "fields": fields,
                      "row_hash": digest(rebuilt(stored, fields=fields, last_hash=prev))})


def test_a_rewritten_and_rehashed_chain_passes_verify_and_replay_but_not_the_anchor(service, published):
    """The forgery is invisible to `verify` and `replay`; the anchor says a chain was rewritten and, with the heads
    file, which case."""
    ids, line, heads = published
    _rewrite_responsible_person(service, ids[1])
    assert service.audit.verify().breaks == [] and service.audit.replay_all().disagreements == []
    check = service.audit.check_anchor(line.line())
    assert not check.holds and "rewritten and re-hashed" in check.differences[-1]
    named = service.audit.check_anchor(line.line(), heads=heads)
    assert [d for d in named.differences if d.startswith("HZ-")] == [f"{ids[1]}: chain rewritten (published head "
                                                                     f"#6 {dict(_heads(heads))[ids[1]][1][:12]}, "
                                                                     f"today #6 {service.queries.case(ids[1]).last_hash[:12]})"]


def _heads(text: str):
    return [(c, (int(s), h)) for c, s, h in (line.split() for line in text.splitlines()[1:])]


def test_a_vanished_case_is_caught(service, published):
    """The newest case deleted with its events, rungs and notice, and the year's counters rewound: every remaining
    chain is whole and the numbering has no gap, so verify passes; the anchor counts one case less and names it."""
    ids, line, heads = published
    with service.store.write() as conn:
        for table, column in ((events, events.c.case_id), (rungs, rungs.c.case_id), (notices, notices.c.case_id),
                              (cases, cases.c.id)):
            conn.execute(delete(table).where(column == ids[2]))
        conn.execute(update(counters).where(counters.c.year == 2026), {"last": 2})
        conn.execute(update(notice_counters).where(notice_counters.c.year == 2026), {"last": 2})
    assert service.audit.verify().breaks == []
    check = service.audit.check_anchor(line.line(), heads=heads)
    assert any("1 vanished" in d for d in check.differences) and any("6 removed" in d for d in check.differences)
    assert f"{ids[2]}: vanished (its chain had 6 event(s) then)" in check.differences


def test_a_removed_last_event_with_its_case_row_rewound_is_caught(service, published):
    """Dropping the verification and setting the case row back to the step before passes verify, not the anchor."""
    ids, line, heads = published
    log = service.queries.history(ids[0])
    with service.store.write() as conn:
        conn.execute(delete(events).where(and_(events.c.case_id == ids[0], events.c.seq == 6)))
        conn.execute(update(cases).where(cases.c.id == ids[0]), {"version": 5, "last_hash": log[4].hash})
    assert service.audit.verify().breaks == []
    check = service.audit.check_anchor(line.line(), heads=heads)
    assert any("1 removed" in d for d in check.differences)
    assert any(d.startswith(f"{ids[0]}: events removed (published head #6") for d in check.differences)


def test_the_cli_prints_the_anchor_and_verify_exits_10_naming_what_changed(service, published, runner, db_url,
                                                                          tmp_path):
    """`audit anchor` prints the line and writes the heads; `audit verify --anchor` exits 0, then 10 after a forgery."""
    from cli.main import cli
    ids, _, _ = published
    heads_file = tmp_path / "heads.txt"
    base = ["--db", db_url, "--now", "2026-03-20T09:00", "audit"]
    printed = runner.invoke(cli, base + ["anchor", "--as-of", "2026-03-10T12:00", "--heads", str(heads_file)])
    assert printed.exit_code == 0, printed.output
    line = printed.stdout.strip()
    assert line.startswith("anchor 2026-03-10T12:00:00+08:00 cases=3 events=18 root=")
    assert runner.invoke(cli, base + ["verify", "--anchor", line]).exit_code == 0
    _rewrite_responsible_person(service, ids[1])
    checked = runner.invoke(cli, base + ["verify", "--anchor", line, "--heads", str(heads_file), "--json"])
    assert checked.exit_code == 10
    document = json.loads(checked.stdout)
    assert document["ok"] is False and document["breaks"] == [] and document["anchor"]["holds"] is False
    assert any(d.startswith(f"{ids[1]}: chain rewritten") for d in document["anchor"]["differences"])
    assert runner.invoke(cli, base + ["verify", "--anchor", "not an anchor"]).exit_code == 2
    shortened = runner.invoke(cli, base + ["verify", "--anchor", line[:line.index("root=") + 13] + "..." + line[-5:]])
    assert shortened.exit_code == 2 and "64 hex digits" in shortened.stderr, shortened.output


def test_a_case_back_filled_before_the_moment_is_reported_as_a_change(service, published):
    """A paper-ledger case entered later with an effective time before the moment changes the anchor: reported as
    one case more, 'reported later with an earlier effective time, or forged', never silently accepted."""
    _, line, heads = published
    late = report(service, title="补录的纸质台账隐患", now=T - timedelta(days=1))
    check = service.audit.check_anchor(line.line(), heads=heads)
    assert not check.holds
    assert any("1 more: reported later with an earlier effective time, or forged" in d for d in check.differences)
    assert f"{late.id}: not in the published anchor (#1 now)" in check.differences
