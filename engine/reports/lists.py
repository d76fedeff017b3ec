"""The four lists (四个清单) and the stats table as pages, ready for Markdown, HTML or xlsx.

The store side selects the candidate rows; `select()` keeps those the list's rule takes (the rule is data,
engine/reports/conditions.py). A case row carries the list's columns and the case attributes the rule reads
(CASE_ATTRIBUTES). An enterprise row carries the enterprise's columns and `cases_detail`, the attribute dicts
of its cases: it is on the list when any of them matches.
"""
from __future__ import annotations

from engine.domain import regions, vocabularies
from engine.reports.conditions import matches
from engine.reports.definition import ListSpec, ReportDefinition, default
from engine.reports.figures import COUNT_FIELDS, StatsRow
from engine.reports.blocks import LEVEL_LABELS, Column, Page, Paragraph, Table, flag_labels, rung_label

COUNT_COLUMNS = frozenset({"cases", "open", "major", "major_open", "overdue", "days_overdue"})
DATE_COLUMNS = frozenset({"found_at", "deadline"})
GROUP_LABELS = {"region": "行政区划", "province": "省", "city": "市", "county": "县（区）", "industry": "行业领域",
                "source": "发现方式", "level": "隐患级别", "department": "责任部门", "enterprise": "企业",
                "state": "状态", "grade": "隐患分级"}
STATS_COLUMNS = [("found", "排查隐患", "count"), ("rectified", "已整改", "count"), ("open", "未整改", "count"),
                 ("overdue", "逾期未整改", "count"), ("rectified_on_time", "按期整改", "count"),
                 ("not_yet_due", "未到期", "count"), ("rate", "整改率", "rate"), ("on_time_rate", "按期整改率", "rate"),
                 ("accepted", "已验收", "count"), ("accepted_rate", "验收率", "rate")]
REGION_GROUPS = frozenset({"region", "province", "city", "county"})


def select(spec: ListSpec, rows: list[dict]) -> list[dict]:
    """The rows the list's rule takes, in the order given."""
    if spec.entry == "case":
        return [row for row in rows if matches(spec.when, row)]
    return [row for row in rows if any(matches(spec.when, case) for case in row.get("cases_detail") or [])]


def _kind(key: str) -> str:
    if key == "region":
        return "region"
    if key == "case_id":
        return "id"
    return "count" if key in COUNT_COLUMNS else "date" if key in DATE_COLUMNS else "text"


def list_table(spec: ListSpec, rows: list[dict]) -> Table:
    shown = []
    for row in rows:
        out = dict(row)
        if "rung_reached" in out:
            out["rung_reached"] = rung_label(out["rung_reached"]) if out["rung_reached"] else "—"
        if "level" in out:
            out["level"] = LEVEL_LABELS.get(out["level"], out["level"])
        # codes are printed as their Chinese labels: a state as its workflow names it, flags, sources
        if "state" in out:
            out["state"] = out.get("state_label") or out["state"]
        if "source" in out and out["source"]:
            out["source"] = vocabularies.label_of("source", out["source"])
        if isinstance(out.get("flags"), (list, tuple)):
            out["flags"] = flag_labels(out["flags"])
        if isinstance(out.get("proposed"), (list, tuple)):
            out["proposed"] = "、".join(rung_label(a) for a in out["proposed"]) or "—"
        if isinstance(out.get("cases"), list):
            out["cases"] = len(out["cases"])
        shown.append(out)
    columns = [Column("_n", "序号", "count")] + [Column(c.key, c.label, _kind(c.key)) for c in spec.columns]
    for n, row in enumerate(shown, 1):
        row["_n"] = n
    return Table(spec.title, columns, shown, sheet=spec.title, empty=f"{spec.title}暂无条目")


def lists_page(entries: list[tuple[ListSpec, list[dict]]], *, region: str, as_of: str = "",
               definition: ReportDefinition | None = None) -> Page:
    """One page with each list as a table (one xlsx sheet each), rows already selected."""
    d = definition or default()
    name = regions.full_name(region) if region else ""
    blocks = []
    for spec, rows in entries:
        if spec.description:
            blocks.append(Paragraph(f"{spec.title}：{len(rows)} 条。", "note"))
        blocks.append(list_table(spec, rows))
    title = f"{name}隐患排查治理四个清单" if len(entries) > 1 else f"{name}{entries[0][0].title}" if entries else name
    return Page(title=title, blocks=blocks, date_line=f"截至 {as_of}" if as_of else "", rounding=d.rounding)


def stats_page(rows: list[StatsRow], by: list[str], *, total: StatsRow | None = None, title: str = "",
               subtitle: str = "", definition: ReportDefinition | None = None) -> Page:
    """The stats table: one column per grouping field (regions shown by name, with the code beside), the counts
    and the rounded rates; a total row when given."""
    d = definition or default()
    group_columns = []
    for field in by:
        if field in REGION_GROUPS:
            group_columns += [Column(field, GROUP_LABELS[field], "region"), Column(f"{field}_code", "区划代码", "id")]
        else:
            group_columns.append(Column(field, GROUP_LABELS.get(field, field)))
    columns = group_columns + [Column(k, label, kind) for k, label, kind in STATS_COLUMNS]
    table_rows = [_stats_cells(r, by) for r in rows]
    total_row = None
    if total is not None:
        total_row = _stats_cells(total, [])
        if by:
            total_row[by[0]] = "合计"
    table = Table("", columns, table_rows, sheet="统计", total=total_row)
    return Page(title=title or d.title, blocks=[Paragraph(subtitle, "note")] * bool(subtitle) + [table],
                rounding=d.rounding)


def _stats_cells(row: StatsRow, by: list[str]) -> dict:
    cells = {k: getattr(row.counts, k) for k in COUNT_FIELDS}
    cells.update(rate=row.rate, on_time_rate=row.on_time_rate, accepted_rate=row.accepted_rate)
    for field in by:
        value = row.group.get(field)
        # levels, sources and states by their Chinese labels (group_document puts them beside the codes)
        cells[field] = row.group.get(f"{field}_label") or value
        if field in REGION_GROUPS:
            cells[f"{field}_code"] = regions.six_digits(value) if value and str(value).isdigit() else value
    return cells
