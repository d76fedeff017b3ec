"""A bulletin made by the engine itself: 菏泽市, March 2026, from a register built through the commands and sweeps.

About 800 general hazards found in eight counties in March (定陶区 reports nothing), many fixed on the spot,
some with a deadline, some of those late; 12 major hazards, two reported in January and the rest in March, on which daily
sweeps climb the ladder: real-name notices by themselves; interviews, a posted supervision (served, accepted and
de-listed in March) and suspensions approved by the committee office the morning they are proposed, exposure
declined. Everything is reported, advanced and swept through `Engine`, with the recording clock
fixed so the log (and its anchor) is the same on every run.

    python tests/bulletin_example.py   # rewrites docs/bulletin-from-engine.md and, with Chromium, its .png

A test rebuilds the register and checks the Markdown file is still what the engine prints.
"""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from engine.domain.clock import FixedClock, parse_time# noqa: E402

DOCS = Path(__file__).parent.parent / "docs"
MARKDOWN, PNG = DOCS / "bulletin-from-engine.md", DOCS / "bulletin-from-engine.png"
ISSUED = "2026-04-03T09:00"
RECORDED = "2026-04-03T08:00"
# county: (general hazards found in March, of them fixed on the spot)
COUNTIES = {"371702": (150, 131), "371721": (132, 112), "371722": (96, 88), "371723": (75, 66), "371724": (110, 88),
            "371725": (118, 94), "371726": (61, 47), "371728": (68, 60)}
DEPARTMENTS = ("市应急局", "市住建局", "市交通运输局", None, None)
ENTERPRISES = ("化工", "木业", "纺织", "建材", "机械", "食品")
# (county, enterprise, title, found on, deadline, how it ends)
MAJORS = [
    ("371725", "郓城县某化工有限公司", "液氨储罐区未设置泄漏报警装置", "03-02", "2026-03-10", "overdue"),
    ("371724", "巨野县某煤业有限公司", "主通风机未按规定进行性能检测", "03-02", "2026-03-10", "overdue"),
    ("371721", "曹县某木业有限公司", "粉尘涉爆车间除尘系统未采用防爆措施", "01-05", "2026-02-10", "overdue"),
    ("371702", "牡丹区某烟花爆竹有限公司", "涉药工房防静电设施失效", "01-06", "2026-01-20", "delisted"),
    ("371722", "单县某建材有限公司", "有限空间作业未执行审批", "03-03", "2026-03-25", "verified"),
    ("371723", "成武县某机械有限公司", "特种设备超期未检", "03-03", "2026-03-20", "verified"),
    ("371726", "鄄城县某纺织有限公司", "厂房安全出口被封堵", "03-04", "2026-03-31", "verified"),
    ("371728", "东明县某化工有限公司", "重大危险源未实施在线监测", "03-04", "2026-04-30", "open"),
    ("371725", "郓城县某食品有限公司", "涉氨制冷车间未设置紧急泄氨装置", "03-05", "2026-04-15", "open"),
    ("371702", "牡丹区某化工有限公司", "危化品储存超量", "03-05", "2026-03-28", "verified"),
    ("371721", "曹县某化工有限公司", "储罐区防火堤破损", "03-06", "2026-04-20", "open"),
    ("371724", "巨野县某木业有限公司", "木粉尘清扫制度未落实", "03-06", "2026-03-15", "verified"),
]


def build(engine) -> None:
    """Report, advance and sweep the whole register (takes a few seconds)."""
    from engine.app.sweep import sweep
    c = engine.commands
    majors = []
    for n, (county, enterprise, title, found, deadline, _) in sorted(enumerate(MAJORS), key=lambda m: m[1][3]):
        at = f"2026-{found}T09:{n:02d}"
        case = c.report_case(actor="zhang", workflow="major-hazard", title=title, enterprise=enterprise, region=county,
                             industry="危险化学品" if "化工" in enterprise else "工贸", level="major",
                             source="inspection", found_at=at, now=at)
        c.advance_case(case.id, "assign", actor="zhang", now=at, fields={
            "responsible_unit": enterprise, "responsible_person": f"{'王李张刘陈杨赵黄周吴徐孙'[n]}某",
            "measures": "制定治理方案，限期整改", "funds": "20万", "deadline": deadline, "emergency_plan": "专项应急预案",
            "department": DEPARTMENTS[n % 3]})
        c.advance_case(case.id, "start", actor="zhang", now=at)
        majors.append((case.id, MAJORS[n]))
    day = parse_time("2026-01-06T01:00")
    while day <= parse_time("2026-04-01T01:00"):
        _steps(engine, [(i, m) for i, m in majors if f"2026-{m[3]}T09:59" < day.isoformat()[:16]], day)
        result = sweep(engine, now=day, sweep_id=f"example-{day:%m%d}")  # a sweep's id is in its events: fixed too
        _decide(engine, result.cases("proposed"), day + timedelta(minutes=30))
        day += timedelta(days=1)
    _general(engine)


def _decide(engine, case_ids: list[str], at) -> None:
    """The committee office decides each proposal the morning it comes: interviews, postings and suspensions
    approved, public exposure declined while the unit is suspended."""
    from engine.domain.escalation.decisions import pending_proposals
    for case_id in case_ids:
        for proposal in pending_proposals(engine.queries.case(case_id).decisions):
            approve = proposal["action"] != "expose"
            engine.commands.decide(case_id, proposal["rung"], "approve" if approve else "decline", actor="li",
                                   reason="同意" if approve else "已责令停产整顿，暂不公开曝光", now=at)


def _steps(engine, majors: list[tuple[str, tuple]], day) -> None:
    """What the offices and enterprises did on `day` (before that day's sweep) about the major hazards reported."""
    c, when = engine.commands, day.strftime("%m-%d")
    at = day + timedelta(hours=9)
    for case_id, (_, _, _, _, deadline, end) in majors:
        if end == "verified" and when == f"{deadline[5:7]}-{int(deadline[8:]) - 3:02d}":
            _rectified(engine, case_id, at)  # the shipped major-hazard workflow submits on evidence
            c.advance_case(case_id, "submit", actor="zhang", now=at)
        if end == "verified" and when == f"{deadline[5:7]}-{int(deadline[8:]) - 1:02d}":
            c.advance_case(case_id, "verify", actor="liu", fields={"opinion": "验收合格"}, now=at)
        if end == "delisted":
            _delisted(engine, case_id, when, at)
    for interview in _linked(engine, [i for i, _ in majors], "interview", "scheduled"):
        c.advance_case(interview.id, "hold", actor="li", now=at, fields={
            "held_at": at.date().isoformat(), "minutes": "约谈纪要", "commitments": "限期完成整改", "clerk": "刘记录"})


def _delisted(engine, case_id: str, when: str, at) -> None:
    c = engine.commands
    posting = next(iter(_linked(engine, [case_id], "posted-supervision", None)), None)
    if posting is None:
        return
    steps = {"02-10": (posting.id, "serve", "li", {"document_no": "菏安办督〔2026〕第3号", "signed_by": "王某"}),
             "02-24": (case_id, "submit", "zhang", {}),
             "02-25": (posting.id, "apply", "zhang", {"application": "已完成整改，申请验收"}),
             "03-02": (case_id, "verify", "liu", {"opinion": "验收合格"}),
             "03-03": (posting.id, "accept", "li", {"opinion": "验收通过"}),
             "03-05": (posting.id, "delist", "li", {"notice_no": "菏安办〔2026〕第12号公告"}),
             "03-06": (case_id, "close", "li", {"closing_note": "已摘牌销号"})}
    if when in steps:
        target, trigger, actor, fields = steps[when]
        if trigger == "submit":
            _rectified(engine, target, at)
        c.advance_case(target, trigger, actor=actor, fields=fields, now=at)


def _rectified(engine, case_id: str, at) -> None:
    """The rectification photo (docs/examples/rectified.png) a major hazard's submit requires, attached just before."""
    photo = DOCS / "examples" / "rectified.png"
    engine.commands.attach(case_id, [str(photo)], actor="zhang", kind="rectified", now=at - timedelta(minutes=30))


def _linked(engine, parents: list[str], workflow: str, state: str | None):
    found = []
    for parent in parents:
        for case in engine.queries.case_view(parent).linked:
            if case.workflow == workflow and (state is None or case.state == state):
                found.append(case)
    return found


def _general(engine) -> None:
    n = 0
    with engine.batch() as batch:
        for county, (found, fixed) in COUNTIES.items():
            for i in range(found):
                day = 1 + (n * 11) % 30
                at = f"2026-03-{day:02d}T10:00"
                department = DEPARTMENTS[n % len(DEPARTMENTS)]
                case = batch.report_case(actor="zhang", title=f"一般隐患 {n}", enterprise=f"某{ENTERPRISES[n % 6]}企业 {n % 83}",
                                         region=county, industry="工贸", level="general", source="self_check",
                                         fields={"department": department} if department else None, found_at=at, now=at)
                if i < fixed:
                    batch.advance_case(case.id, "fix", actor="zhang", fields={"measures": "立查立改"}, now=at)
                    batch.advance_case(case.id, "verify", actor="liu", fields={"opinion": "复查合格"},
                                       now=f"2026-03-{day:02d}T16:00")
                elif i % 2 == 0:
                    deadline = f"2026-03-{min(day + 5, 31):02d}"
                    batch.advance_case(case.id, "assign", actor="zhang", now=at, fields={
                        "responsible_person": "企业负责人", "measures": "限期整改", "deadline": deadline})
                    if i % 4 == 0:
                        batch.advance_case(case.id, "submit", actor="zhang", now=f"2026-03-{min(day + 3, 31):02d}T10:00")
                        batch.advance_case(case.id, "verify", actor="liu", fields={"opinion": "复查合格"},
                                           now=f"2026-03-{min(day + 4, 31):02d}T10:00")
                n += 1


def engine_at(url: str):
    from engine.app import Engine
    from engine.store.database import Store
    return Engine(Store(url), clock=FixedClock(parse_time(ISSUED)), recorded_clock=FixedClock(parse_time(RECORDED)),
                  trust_backdating=True)


def bulletin(engine):
    return engine.reports.bulletin(period="month", date="2026-03-31", region="3717", now=ISSUED)


def main() -> int:
    import tempfile

    import browser
    from conftest import seed
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/example.db"
        seed(url)
        engine = engine_at(url)
        build(engine)
        made = bulletin(engine)
        MARKDOWN.write_text(made.markdown(), encoding="utf-8")
        reason = browser.unavailable()
        if reason:
            print(f"{PNG.name} not made: {reason}", file=sys.stderr)
            return 0
        page = Path(folder) / "bulletin.html"
        page.write_text(made.html(), encoding="utf-8")
        browser.screenshot(page, PNG, width=900, height=2600)
    print(f"wrote {MARKDOWN.relative_to(DOCS.parent)} and {PNG.relative_to(DOCS.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
