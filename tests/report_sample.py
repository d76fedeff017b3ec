"""A sample bulletin document: 菏泽市, October 2018, built to the seed's published totals.

The city's figures are the seed's (大众网, 2018-11-15): 21,521 found and 18,622 rectified (86.53%); the
committee's member departments 13,983 / 11,702; the counties 7,538 / 6,920. How the counties' total splits
by county, the major hazards, the named cases and people are invented for the example (示例), as is the
silent district. `python tests/report_sample.py` rewrites docs/bulletin-example.md and, where Chromium is
installed, docs/bulletin-example.png; a test checks the Markdown file still matches.
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

from engine.domain import regions
from engine.domain.clock import SHANGHAI
from engine.reports import ranking

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"

# region: (found, rectified, overdue, rectified on time, major enterprises, of them rectified, major items, rectified)
COUNTIES = {
    "371702": (1210, 1118, 31, 1090, 3, 2, 4, 3),
    "371703": (0, 0, 0, 0, 0, 0, 0, 0),
    "371721": (1032, 951, 40, 902, 4, 3, 5, 3),
    "371722": (968, 905, 12, 889, 2, 2, 2, 2),
    "371723": (745, 690, 20, 671, 1, 1, 1, 1),
    "371724": (1105, 1011, 51, 960, 3, 1, 3, 1),
    "371725": (1186, 1074, 62, 1012, 5, 3, 6, 4),
    "371726": (612, 541, 44, 510, 2, 1, 2, 1),
    "371728": (680, 630, 15, 611, 2, 2, 3, 3),
}
DEPARTMENTS = {"市安委会重点成员单位": (13983, 11702, 520, 11290, 14, 9, 17, 11)}
RANKING = """
ranking: heze-monthly
title: 县（区）隐患排查治理综合排名（权重：全部隐患整改率 60%，逾期未整改 40%）
missing: exclude
indicators:
  - {indicator: rate, weight: 60}
  - {indicator: overdue_count, weight: 40}
"""


def _unit(values: tuple, **key) -> dict:
    found, rectified, overdue, on_time, ent, ent_done, major, major_done = values
    return {**key, "found": found, "rectified": rectified, "overdue": overdue, "rectified_on_time": on_time,
            "major_enterprises": ent, "major_enterprises_rectified": ent_done, "major_found": major,
            "major_rectified": major_done, "general_found": found - major, "general_rectified": rectified - major_done}


def _sum(rows: list[dict]) -> dict:
    keys = [k for k in rows[0] if isinstance(rows[0][k], int)]
    return {k: sum(r[k] for r in rows) for k in keys}


def sample_document() -> dict:
    units = [_unit(v, region=code) for code, v in COUNTIES.items()]
    departments = [_unit(v, name=name) for name, v in DEPARTMENTS.items()]
    totals = _sum(units + departments)
    assert (totals["found"], totals["rectified"]) == (21521, 18622)
    spec = ranking.parse_text(RANKING, "sample-weights.yaml")
    from engine.reports.figures import rate
    values = {u["region"]: {"rate": rate(u["rectified"], u["found"]), "overdue_count": u["overdue"] if u["found"] else None}
              for u in units}
    ranked = ranking.rank(spec, values)
    return {
        "period": {"kind": "month", "from": date(2018, 10, 1), "to": date(2018, 10, 31), "label": "2018年10月"},
        "previous_period": {"kind": "month", "from": date(2018, 9, 1), "to": date(2018, 9, 30), "label": "2018年9月"},
        "region": "3717",
        "issuer": "菏泽市安全生产委员会办公室",
        "number": "2018年第10期（示例）",
        "issued_on": date(2018, 11, 5),
        "totals": totals,
        "previous_totals": {"found": 19874, "rectified": 16902, "overdue": 702, "rectified_on_time": 16240,
                            "major_found": 41, "major_rectified": 22, "major_enterprises": 33,
                            "major_enterprises_rectified": 18},
        "units": units,
        "departments": departments,
        "overdue_major": [
            {"case_id": "HZ-2018-000317", "region": "371725", "enterprise": "郓城县某化工有限公司",
             "title": "液氨储罐区未设置泄漏报警装置", "deadline": date(2018, 9, 30), "days_overdue": 31,
             "responsible_unit": "郓城县某化工有限公司", "responsible_person": "王某", "rung_reached": "interview"},
            {"case_id": "HZ-2018-000288", "region": "371724", "enterprise": "巨野县某煤业有限公司",
             "title": "主通风机未按规定进行性能检测", "deadline": date(2018, 10, 15), "days_overdue": 16,
             "responsible_unit": "巨野县某煤业有限公司", "responsible_person": "李某", "rung_reached": "notice"},
            {"case_id": "HZ-2018-000402", "region": "371721", "enterprise": "曹县某木业有限公司",
             "title": "粉尘涉爆车间除尘系统未采用防爆措施", "deadline": date(2018, 10, 20), "days_overdue": 11,
             "responsible_unit": "曹县某木业有限公司", "responsible_person": "张某", "rung_reached": "notice"},
        ],
        "notices": [
            {"at": date(2018, 10, 12), "kind": "real_name", "unit": "郓城县某化工有限公司", "person": "王某",
             "case_id": "HZ-2018-000317", "reason": "重大隐患逾期未整改"},
            {"at": date(2018, 10, 22), "kind": "notice", "unit": "巨野县安监局", "person": "刘某",
             "case_id": "HZ-2018-000288", "reason": "督促整改不力"},
        ],
        "interviews": [{"at": date(2018, 10, 19), "unit": "郓城县某化工有限公司", "person": "王某",
                        "case_id": "HZ-2018-000317-I1", "state": "已约谈，待书面报告"}],
        "postings": {"opened": [{"case_id": "HZ-2018-000317-P1", "region": "371725", "enterprise": "郓城县某化工有限公司",
                                 "authority": "city", "at": date(2018, 10, 26), "deadline": date(2019, 1, 24)}],
                     "delisted": [{"case_id": "HZ-2018-000155-P1", "region": "371722", "enterprise": "单县某烟花爆竹有限公司",
                                   "at": date(2018, 10, 30)}]},
        "ranking": ranking.section(spec, ranked, names={code: regions.label(code) for code in COUNTIES}),
        "anchor": {"value": "sha256:" + hashlib.sha256(b"hazard-closure sample 2018-10").hexdigest(),
                   "as_of": datetime(2018, 10, 31, 23, 59, tzinfo=SHANGHAI), "cases": 21521, "events": 97410},
        "generated_at": datetime(2018, 11, 5, 9, 0, tzinfo=SHANGHAI),
    }


def main() -> int:
    from engine.reports import bulletin
    doc = sample_document()
    (DOCS / "bulletin-example.md").write_text(bulletin.to_markdown_text(doc), encoding="utf-8")
    sys.path.insert(0, str(Path(__file__).parent))
    import browser
    reason = browser.unavailable()
    if reason:
        print(f"docs/bulletin-example.png not made: {reason}", file=sys.stderr)
        return 0
    # A page named .html: under any other name (it was .html.tmp) Chromium shows the HTML source as plain text.
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "bulletin-example.html"
        html.write_text(bulletin.to_html_text(doc), encoding="utf-8")
        browser.screenshot(html, DOCS / "bulletin-example.png", width=900, height=2400)
    print("wrote docs/bulletin-example.md and docs/bulletin-example.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
