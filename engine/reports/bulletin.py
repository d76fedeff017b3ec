"""The weekly brief / monthly bulletin (周简报、月通报): from a bulletin document to Markdown, HTML or xlsx.

The document is a plain dict the store side fills (dates as `date`, instants as aware `datetime`, counts as
int, regions as codes). Keys, all optional unless marked:

    period          {"kind": "week|month|quarter", "from": date, "to": date, "label": "2018年10月"}   required
    previous_period the same for the period before (its label is used in "较上期")
    region          the office's region code ("3717")                                                required
    issuer, number, issued_on   the masthead: "菏泽市安全生产委员会办公室", "2018年第10期", date
    title           overrides the definition's bulletin title
    totals          counts for the whole region, found in the period and looked at as of its end:  required
                    found, rectified, overdue, rectified_on_time (open, not_yet_due follow), and
                    major_found, major_rectified, major_enterprises, major_enterprises_rectified
    previous_totals the same for the previous period
    units           one per county (or city): {"region": code, "found", "rectified", "overdue",
                    "rectified_on_time", "general_found", "general_rectified", "major_found",
                    "major_rectified", "major_enterprises", "major_enterprises_rectified"}; list every unit
                    under the region, those with nothing too (they are named as not reporting)
    departments     the same counts per department: {"name": "市住建局", ...}
    overdue_major   [{"case_id", "enterprise", "region", "title", "deadline", "days_overdue",
                      "responsible_unit", "responsible_person", "rung_reached"}]
    notices         [{"at", "kind": "notice|real_name", "unit", "person", "case_id", "reason"}]
    interviews      [{"at", "unit", "person", "case_id", "state", "notices": [number]}]
    postings        {"opened": [{"case_id", "enterprise", "region", "authority", "at", "deadline", "notices"}],
                     "delisted": [{"case_id", "enterprise", "region", "at"}]}
    decisions       {"pending": [{"case_id", "region", "enterprise", "label", "since", "decided_by"}],
                     "decided": [{"case_id", "region", "enterprise", "label", "decision", "at", "by", "reason"}]}:
                    the sanctions the ladder proposed that await a decision at the period's end, and those
                    decided in the period (approved or declined)
    ranking         {"title", "indicators": [names], "rows": [Ranked.as_dict() ...]} (engine/reports/ranking.py)
    silent_units    region codes of units that reported nothing (default: units with found == 0)
    anchor          {"value", "as_of", "cases", "events"}: the event log's anchor (hazard audit anchor)
    generated_at    when it was made

General hazards are counted in items (条/项), major ones in enterprises (家) or items, as the definition's
bulletin layout says; which sections appear, and in which order, is the layout's too.
"""
from __future__ import annotations

from datetime import date, datetime

from engine.domain import regions
from engine.domain.clock import local
from engine.reports import ranking as rankings
from engine.reports.definition import ReportDefinition, default
from engine.reports.figures import (
    Counts, change, change_text, on_time_denominator, percent_text, points_text, rate, rate_change,
)
from engine.reports.blocks import Chart, Column, Heading, Page, Paragraph, Table, rung_label
from engine.reports.output import to_html, to_markdown, to_xlsx

NUMERALS = "一二三四五六七八九十"
REQUIRED = ("period", "region", "totals")


def chinese_numeral(n: int) -> str:
    """1..99 as section numbers are written: 一, 十, 十二, 二十三."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else NUMERALS[tens - 1]) + "十" if tens else "") + (NUMERALS[ones - 1] if ones else "")


def check(doc: dict) -> None:
    """Raise ValueError naming what a document lacks (a programming error on the caller's side)."""
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise ValueError(f"a bulletin document needs {', '.join(missing)}")
    for key in ("from", "to"):
        if not isinstance(doc["period"].get(key), date):
            raise ValueError(f"period.{key} must be a date")


def page(doc: dict, definition: ReportDefinition | None = None) -> Page:
    """The bulletin as blocks, in the order the definition's layout lists its sections."""
    check(doc)
    d = definition or default()
    layout, rounding = d.bulletin, d.rounding
    region_name = regions.label(doc["region"])
    period = doc["period"].get("label") or f"{doc['period']['from']} 至 {doc['period']['to']}"
    builder = _Builder(doc, d)
    blocks, number = [], 0
    for section in layout.sections:
        made = getattr(builder, section)()
        if not made:
            continue
        number += 1
        heading, *rest = made
        blocks += [Heading(f"{chinese_numeral(number)}、{heading}"), *rest]
    issued = doc.get("issued_on")
    kind = doc["period"].get("kind", "month")
    return Page(title=doc.get("title") or layout.heading(region=region_name, period=period, kind=kind),
                issuer=doc.get("issuer") or f"{region_name}{layout.issuer}", number=doc.get("number", ""),
                date_line=f"{issued.year}年{issued.month}月{issued.day}日" if issued else "",
                blocks=blocks, rounding=rounding, footer=_footer(doc))


def to_markdown_text(doc: dict, definition: ReportDefinition | None = None) -> str:
    return to_markdown(page(doc, definition))


def to_html_text(doc: dict, definition: ReportDefinition | None = None) -> str:
    return to_html(page(doc, definition))


def to_xlsx_bytes(doc: dict, definition: ReportDefinition | None = None) -> bytes:
    return to_xlsx(page(doc, definition))


def _footer(doc: dict) -> str:
    at = doc.get("generated_at")
    when = local(at).strftime("%Y-%m-%d %H:%M") if isinstance(at, datetime) else ""
    return f"本通报由 hazard-closure 依据隐患台账与事件日志生成{('，' + when + '（北京时间）') if when else ''}。"


def _counts(row: dict) -> Counts:
    return Counts.of({k: row.get(k, 0) for k in ("found", "rectified", "overdue", "rectified_on_time")})


class _Builder:
    """One method per section; each returns [heading, blocks...] or [] when it has nothing to say.

    Every count names its unit (条/项 for hazards, 家 for enterprises) and every rate the levels it covers
    (全部隐患, 一般隐患, 重大隐患), in paragraphs and in table headings alike, so that a paragraph and the table
    beside it can be read against each other."""

    def __init__(self, doc: dict, definition: ReportDefinition):
        self.doc, self.d, self.r, self.layout = doc, definition, definition.rounding, definition.bulletin
        self.region_name = regions.label(doc["region"])
        self.g, self.m = self.layout.general_unit, self.layout.major_unit
        self.by_enterprise = self.layout.major_in_enterprises
        self.mi = self.g if self.by_enterprise else self.m  # major hazards counted as items
        self.major_rate_label = "重大隐患整改率（按企业计）" if self.by_enterprise else "重大隐患整改率"
        self.previous_label = (doc.get("previous_period") or {}).get("label", "上期")

    def pct(self, numerator: int, denominator: int) -> str:
        return percent_text(numerator, denominator, self.r, sign=True)

    def major_pair(self, row: dict) -> tuple[int, int]:
        if self.by_enterprise:
            return row.get("major_enterprises", 0), row.get("major_enterprises_rectified", 0)
        return row.get("major_found", 0), row.get("major_rectified", 0)

    def major_text(self, row: dict, lead: str = "") -> str:
        """重大隐患 6 条，涉及企业 5 家，已整改 3 家，重大隐患整改率（按企业计）60.00% (or all in items)."""
        m_found, m_done = self.major_pair(row)
        if self.by_enterprise:
            return (f"{lead}重大隐患 {row.get('major_found', 0)} {self.g}，涉及企业 {m_found} 家，已整改 {m_done} 家，"
                    f"{self.major_rate_label}{self.pct(m_done, m_found)}")
        return f"{lead}重大隐患 {m_found} {self.m}，已整改 {m_done} {self.m}，{self.major_rate_label} {self.pct(m_done, m_found)}"

    def totals(self):
        t, prev = self.doc["totals"], self.doc.get("previous_totals")
        period = self.doc["period"].get("label", "本期")
        text = (f"{period}，{self.region_name}共排查隐患 {t.get('found', 0)} {self.g}，已整改 {t.get('rectified', 0)} "
                f"{self.g}，全部隐患整改率 {self.pct(t.get('rectified', 0), t.get('found', 0))}；{self.major_text(t, '其中')}。")
        if prev:
            found_change = change_text(change(t.get("found", 0), prev.get("found", 0), self.r.decimals), self.g, self.r)
            points = points_text(rate_change(rate(t.get("rectified", 0), t.get("found", 0), self.r.decimals),
                                             rate(prev.get("rectified", 0), prev.get("found", 0), self.r.decimals)), self.r)
            text += f"排查隐患数{found_change}" + (f"，全部隐患整改率{points}" if points else "") + "。"
        now, before = self._with_open(t), self._with_open(prev) if prev else None
        items = [(f"排查隐患（{self.g}）", "found"), (f"已整改（{self.g}）", "rectified"), (f"未整改（{self.g}）", "open"),
                 (f"逾期未整改（{self.g}）", "overdue"), (f"重大隐患（{self.mi}）", "major_found"),
                 (f"重大隐患已整改（{self.mi}）", "major_rectified")]
        if self.by_enterprise:
            items += [("涉及重大隐患企业（家）", "major_enterprises"), ("已整改企业（家）", "major_enterprises_rectified")]
        table_rows = []
        for label, key in items:
            row = {"item": label, "now": now.get(key, 0)}
            if before:
                row.update(before=before.get(key, 0), delta=now.get(key, 0) - before.get(key, 0))
            table_rows.append(row)
        # the rates themselves (numbers with a percent format in xlsx; '/' where nothing was found), in count columns
        for label, pair in (("全部隐患整改率", lambda x: (x.get("rectified", 0), x.get("found", 0))),
                            (self.major_rate_label, lambda x: self.major_pair(x)[::-1])):
            now_rate = rate(*pair(now), self.r.decimals)
            rate_row = {"item": label, "now": now_rate, "_kinds": {"now": "rate", "before": "rate", "delta": "text"}}
            if before:
                before_rate = rate(*pair(before), self.r.decimals)
                rate_row.update(before=before_rate, delta=points_text(rate_change(now_rate, before_rate), self.r) or "—")
            table_rows.append(rate_row)
        columns = [Column("item", "指标"), Column("now", "本期", "count")]
        if before:
            columns += [Column("before", self.previous_label, "count"), Column("delta", "增减", "count")]
        return ["总体情况", Paragraph(text, "lead"), Table("", columns, table_rows, sheet="总体情况")]

    @staticmethod
    def _with_open(t: dict | None) -> dict:
        if t is None:
            return {}
        c = _counts(t)
        return {**t, "open": c.open, "not_yet_due": c.not_yet_due}

    def units(self):
        units = self.doc.get("units") or []
        if not units:
            return []
        paragraphs, rows = [], []
        for u in units:
            name = regions.label(u["region"])
            m_found, m_done = self.major_pair(u)
            if not u.get("found") and not u.get("general_found") and not m_found:
                paragraphs.append(Paragraph(f"{name}：本期未报送隐患排查治理情况。"))
            else:
                # always the published form: a county without major hazards reads 0 家 ... 整改率 / (the zero text)
                paragraphs.append(Paragraph(
                    f"{name}：报送整改一般隐患 {u.get('general_found', 0)} {self.g}，一般隐患整改率 "
                    f"{self.pct(u.get('general_rectified', 0), u.get('general_found', 0))}；{self.major_text(u)}。"))
            rows.append(self._unit_row(u["region"], _counts(u), u.get("major_found", 0), m_found, m_done))
        total = self._unit_row(self.doc["region"], sum((_counts(u) for u in units), Counts()),
                               sum(u.get("major_found", 0) for u in units), sum(self.major_pair(u)[0] for u in units),
                               sum(self.major_pair(u)[1] for u in units))
        columns = [Column("region", "县（区）", "region"), Column("found", f"排查隐患（{self.g}）", "count"),
                   Column("rectified", f"已整改（{self.g}）", "count"), Column("rate", "全部隐患整改率", "rate"),
                   Column("overdue", f"逾期未整改（{self.g}）", "count"), Column("on_time_rate", "全部隐患按期整改率", "rate")]
        if self.by_enterprise:
            columns += [Column("major_items", f"重大隐患（{self.g}）", "count"), Column("major", "涉及重大隐患企业（家）", "count"),
                        Column("major_done", "已整改企业（家）", "count")]
        else:
            columns += [Column("major", f"重大隐患（{self.m}）", "count"),
                        Column("major_done", f"重大隐患已整改（{self.m}）", "count")]
        columns.append(Column("major_rate", self.major_rate_label, "rate"))
        return ["各县（区）情况", *paragraphs,
                Table("各县（区）隐患排查治理情况", columns, rows, sheet="各县区", total={**total, "region": "合计"})]

    def _unit_row(self, region: str, c: Counts, major_items: int, major: int, major_done: int) -> dict:
        return {"region": region, "found": c.found, "rectified": c.rectified,
                "rate": rate(c.rectified, c.found, self.r.decimals), "overdue": c.overdue,
                "on_time_rate": self._on_time(c), "major_items": major_items, "major": major, "major_done": major_done,
                "major_rate": rate(major_done, major, self.r.decimals)}

    def _on_time(self, c: Counts):
        return rate(c.rectified_on_time, on_time_denominator(c, self.d.on_time_base), self.r.decimals)

    def departments(self):
        rows = self.doc.get("departments") or []
        if not rows:
            return []
        out, table = [], []
        for dep in rows:
            c = _counts(dep)
            out.append(f"{dep['name']}排查隐患 {c.found} {self.g}，已整改 {c.rectified} {self.g}，全部隐患整改率 "
                       f"{self.pct(c.rectified, c.found)}")
            table.append({"name": dep["name"], "found": c.found, "rectified": c.rectified,
                          "rate": rate(c.rectified, c.found, self.r.decimals), "overdue": c.overdue})
        columns = [Column("name", "部门"), Column("found", f"排查隐患（{self.g}）", "count"),
                   Column("rectified", f"已整改（{self.g}）", "count"), Column("rate", "全部隐患整改率", "rate"),
                   Column("overdue", f"逾期未整改（{self.g}）", "count")]
        return ["市直部门情况", Paragraph("；".join(out) + "。"), Table("", columns, table, sheet="部门")]

    def on_time(self):
        c = _counts(self.doc["totals"])
        due = on_time_denominator(c, self.d.on_time_base)
        return ["按期整改情况", Paragraph(
            f"按期整改 {c.rectified_on_time} {self.g}，全部隐患按期整改率 {self.pct(c.rectified_on_time, due)}；逾期未整改 "
            f"{c.overdue} {self.g}；尚有 {c.not_yet_due} {self.g}未到整改期限。")]

    def chart(self):
        units = self.doc.get("units") or []
        if not units:
            return []
        bars = [(regions.label(u["region"]), rate(u.get("rectified", 0), u.get("found", 0), self.r.decimals))
                for u in units]
        target = self.layout.chart_target
        note = f"虚线为整改率目标 {target}%，低于目标的县（区）以红色标出。" if target is not None else ""
        return ["各县（区）全部隐患整改率", Chart("各县（区）全部隐患整改率", bars, target, note, sheet="各县区")]

    def overdue_major(self):
        rows = self.doc.get("overdue_major") or []
        columns = [Column("case_id", "案件编号", "id"), Column("region", "县（区）", "region"), Column("enterprise", "企业"),
                   Column("title", "隐患内容"), Column("deadline", "整改期限", "date"),
                   Column("days_overdue", "逾期天数", "count"), Column("responsible_unit", "责任单位"),
                   Column("responsible_person", "责任人"), Column("rung", "已采取措施")]
        rows = [{**r, "rung": rung_label(r.get("rung_reached"))} for r in rows]
        lead = (f"截至{self.doc['period']['to'].month}月{self.doc['period']['to'].day}日，逾期未整改重大隐患 {len(rows)} {self.mi}，"
                "现予点名：" if rows else "本期无逾期未整改重大隐患。")
        return ["逾期未整改重大隐患", Paragraph(lead), Table("", columns, rows, sheet="逾期重大隐患", empty="无")] \
            if rows else ["逾期未整改重大隐患", Paragraph(lead)]

    def notices(self):
        rows = self.doc.get("notices") or []
        kinds = {"notice": "通报", "real_name": "实名通报"}
        rows = [{**r, "kind_label": kinds.get(r.get("kind"), r.get("kind") or "通报")} for r in rows]
        columns = [Column("at", "日期", "date"), Column("kind_label", "类型"), Column("unit", "责任单位"),
                   Column("person", "责任人"), Column("case_id", "案件编号", "id"), Column("reason", "事由")]
        real = sum(r.get("kind") == "real_name" for r in rows)
        text = f"本期通报 {len(rows)} 次，其中实名通报 {real} 次。" if rows else "本期未发出通报。"
        return ["通报情况", Paragraph(text)] + ([Table("", columns, rows, sheet="通报")] if rows else [])

    def interviews(self):
        rows = self.doc.get("interviews") or []
        columns = [Column("at", "约谈日期", "date"), Column("unit", "被约谈单位"), Column("person", "被约谈人"),
                   Column("case_id", "案件编号", "id"), Column("state", "状态")]
        rows, columns = _citing(rows, columns)
        text = f"本期约谈 {len(rows)} 次。" if rows else "本期未约谈。"
        return ["约谈情况", Paragraph(text)] + ([Table("", columns, rows, sheet="约谈")] if rows else [])

    def postings(self):
        p = self.doc.get("postings") or {}
        opened, delisted = p.get("opened") or [], p.get("delisted") or []
        authority = {"province": "省级", "city": "市级", "county": "县级", "town": "乡镇"}
        opened = [{**r, "authority_label": authority.get(r.get("authority"), r.get("authority"))} for r in opened]
        opened, posted = _citing(opened, [Column("case_id", "案件编号", "id"), Column("region", "县（区）", "region"),
                                          Column("enterprise", "企业"), Column("authority_label", "督办级别"),
                                          Column("at", "挂牌日期", "date"), Column("deadline", "督办期限", "date")])
        text = f"本期挂牌督办重大隐患 {len(opened)} {self.mi}，摘牌销号 {len(delisted)} {self.mi}。"
        blocks = ["挂牌督办情况", Paragraph(text)]
        if opened:
            blocks.append(Table("挂牌督办", posted, opened, sheet="挂牌督办"))
        if delisted:
            blocks.append(Table("摘牌销号", [Column("case_id", "案件编号", "id"), Column("region", "县（区）", "region"),
                                          Column("enterprise", "企业"), Column("at", "摘牌日期", "date")],
                                delisted, sheet="摘牌销号"))
        return blocks

    def decisions(self):
        d = self.doc.get("decisions") or {}
        pending, decided = d.get("pending") or [], d.get("decided") or []
        approved = sum(r.get("decision") == "approve" for r in decided)
        to = self.doc["period"]["to"]
        text = (f"截至{to.month}月{to.day}日，待决定的处置建议 {len(pending)} 件；本期作出处置决定 {len(decided)} 件，"
                f"其中批准 {approved} 件、不予批准 {len(decided) - approved} 件。")
        blocks = ["处置决定", Paragraph(text)]
        if pending:
            blocks.append(Table("待决定的处置建议", [
                Column("case_id", "案件编号", "id"), Column("region", "县（区）", "region"), Column("enterprise", "企业"),
                Column("label", "处置建议"), Column("since", "提出日期", "date"), Column("decided_by", "决定机关")],
                pending, sheet="待决定"))
        if decided:
            shown = [{**r, "decision_label": "批准" if r.get("decision") == "approve" else "不予批准"} for r in decided]
            blocks.append(Table("本期处置决定", [
                Column("case_id", "案件编号", "id"), Column("region", "县（区）", "region"), Column("enterprise", "企业"),
                Column("label", "处置措施"), Column("decision_label", "决定"), Column("at", "决定日期", "date"),
                Column("by", "决定人"), Column("reason", "理由")], shown, sheet="处置决定"))
        return blocks

    def ranking(self):
        section = self.doc.get("ranking")
        if not section or not section.get("rows"):
            return []
        return ["综合排名", rankings.table(section, group_heading="县（区）"), Paragraph(rankings.note(section), "note")]

    def silent(self):
        codes = self.doc.get("silent_units")
        if codes is None:
            codes = [u["region"] for u in self.doc.get("units") or [] if not u.get("found")]
        if not codes:
            return ["未报送单位", Paragraph("各县（区）均已按时报送。")]
        return ["未报送单位", Paragraph(f"本期未报送隐患排查治理情况的单位：{'、'.join(regions.label(c) for c in codes)}。"
                                    "请上述单位于下期通报前补报，并说明原因。")]

    def anchor(self):
        a = self.doc.get("anchor")
        if not a:
            return []
        at = a.get("as_of")
        when = local(at).strftime("%Y-%m-%d %H:%M") if isinstance(at, datetime) else str(at or "")
        return ["数据核验", Paragraph(
            f"事件日志锚点（截至 {when}，案件 {a.get('cases', 0)} 件，事件 {a.get('events', 0)} 条）：{a['value']}。"
            "可用 hazard audit verify --anchor 核验本通报所依据的数据此后未被改动。", "anchor")]



def _citing(rows: list[dict], columns: list) -> tuple[list[dict], list]:
    """Rows and columns with the numbers (文号) of the notices issued for each linked case, when any was: a
    bulletin over cases that issued none keeps its columns."""
    if not any(r.get("notices") for r in rows):
        return rows, columns
    return ([{**r, "numbers": "、".join(r.get("notices") or ()) or "—"} for r in rows],
            [*columns, Column("numbers", "文号")])
