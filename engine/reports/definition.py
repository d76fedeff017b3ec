"""Report definitions: how figures are rounded, which cases make the four lists, how a bulletin is laid out.

The shipped `default.yaml` beside this module is the reference; every key is read here and checked, and a
bad file gets every problem as `FILE:LINE: message`:

    report: default                 # a name
    title: 安全生产隐患排查治理统计
    rounding:
      decimals: 2                   # 0 = whole percent, 1 = one decimal, ... at most 4
      zero: "/"                     # printed where nothing was found (no denominator)
      percent_sign: true            # 86.53% or 86.53 in text and tables
    on_time_rate: due               # denominator of 按期整改率: due (rectified + overdue) | rectified | found
    counts_as_rectified: rectified  # what 已整改 and 整改率 count: rectified (rectification complete, the states a
                                    # workflow marks `rectified`) | accepted (accepted by the department: 验收/复查)
    lists:
      - list: major-to-clear        # a name, used by `hazard report lists --list`
        title: 整改清零重大隐患清单
        entry: case                 # case: one row per case | enterprise: one row per enterprise
        when: {level: major, open: true}     # engine/reports/conditions.py
        columns: [case_id, region, enterprise, title, deadline, days_overdue]   # or {column: X, label: Y}
    bulletin:
      title: "$region安全生产隐患排查治理$kind"    # $region, $period and $kind (周简报, 月通报, ...) are filled in
      issuer: 安全生产委员会办公室
      sections: [totals, units, ...]              # which, in which order (BULLETIN_SECTIONS)
      general_unit: 条              # general hazards counted in items: 条 | 项
      major_unit: 家                # major hazards: 家 counts enterprises, 条 | 项 counts items
      chart_target: 90              # a dashed line on the chart at this rate; omit for none
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from string import Template

from engine.reports import conditions
from engine.reports.figures import MAX_DECIMALS, ON_TIME_BASES, RECTIFIED_BASES, Rounding
from engine.reports.reading import Reader, load

TOP_KEYS = frozenset({"report", "title", "description", "rounding", "on_time_rate", "counts_as_rectified", "lists",
                      "bulletin"})
ROUNDING_KEYS = frozenset({"decimals", "zero", "percent_sign"})
LIST_KEYS = frozenset({"list", "title", "entry", "when", "columns", "description"})
COLUMN_KEYS = frozenset({"column", "label"})
BULLETIN_KEYS = frozenset({"title", "issuer", "sections", "general_unit", "major_unit", "chart_target"})
ENTRIES = ("case", "enterprise")
BULLETIN_SECTIONS = ("totals", "units", "departments", "on_time", "chart", "overdue_major", "notices", "interviews",
                     "postings", "decisions", "ranking", "silent", "anchor")
TITLE_PLACEHOLDERS = frozenset({"region", "period", "kind"})
# What a bulletin is called by its period ($kind in a title): the weekly brief and the monthly bulletin offices
# publish (周简报、月通报); a campaign's report since it began is its 工作通报.
BULLETIN_KINDS = {"week": "周简报", "month": "月通报", "quarter": "季度通报", "campaign": "工作通报"}

# Columns a list may show, with the label printed when the file gives none.
CASE_COLUMNS = {"case_id": "案件编号", "region": "行政区划", "enterprise": "企业名称", "industry": "行业领域",
                "title": "隐患内容", "level": "隐患级别", "state": "状态", "found_at": "排查日期",
                "deadline": "整改期限", "days_overdue": "逾期天数", "responsible_unit": "责任单位",
                "responsible_person": "责任人", "measures": "整改措施", "rung_reached": "督办措施",
                "flags": "标记", "proposed": "待决定措施", "source": "发现方式"}
ENTERPRISE_COLUMNS = {"region": "行政区划", "enterprise": "企业名称", "industry": "行业领域", "cases": "隐患数",
                      "open": "未整改", "major": "重大隐患", "major_open": "未整改重大隐患", "overdue": "逾期",
                      "rung_reached": "督办措施", "flags": "标记", "proposed": "待决定措施",
                      "responsible_person": "主要负责人"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class ListSpec:
    name: str
    title: str
    entry: str
    when: conditions.Condition
    columns: tuple[Column, ...]
    description: str = ""


@dataclass(frozen=True)
class BulletinLayout:
    title: str = "$region安全生产隐患排查治理$kind"
    issuer: str = "安全生产委员会办公室"
    sections: tuple[str, ...] = BULLETIN_SECTIONS
    general_unit: str = "条"
    major_unit: str = "家"
    chart_target: Decimal | None = None

    @property
    def major_in_enterprises(self) -> bool:
        return self.major_unit == "家"

    def heading(self, *, region: str, period: str, kind: str = "month") -> str:
        """The title of the bulletin of a period of this kind (week, month, quarter, campaign)."""
        return Template(self.title).safe_substitute(region=region, period=period,
                                                    kind=BULLETIN_KINDS.get(kind, BULLETIN_KINDS["month"]))


@dataclass(frozen=True)
class ReportDefinition:
    name: str
    title: str
    rounding: Rounding = Rounding()
    on_time_base: str = "due"
    counts_as_rectified: str = "rectified"   # RECTIFIED_BASES: what the figures count as rectified
    lists: tuple[ListSpec, ...] = ()
    bulletin: BulletinLayout = field(default_factory=BulletinLayout)
    description: str = ""

    def list(self, name: str) -> ListSpec | None:
        return next((spec for spec in self.lists if spec.name == name), None)


def parse_text(text: str, filename: str) -> ReportDefinition:
    """Read a report definition; DefinitionInvalid (exit 7) lists every problem."""
    return _parse(text, filename)


@lru_cache(maxsize=16)
def _parse(text: str, filename: str) -> ReportDefinition:
    root, r = load(text, filename, "report definition"), Reader(filename)
    r.keys(root, TOP_KEYS, "report", required=("report",))
    name = r.name(root, "report", "report")
    rounding = _rounding(root, r)
    on_time = r.choice(root, "on_time_rate", "report", ON_TIME_BASES, "due")
    rectified = r.choice(root, "counts_as_rectified", "report", RECTIFIED_BASES, "rectified")
    lists = tuple(_list(node, root["lists"].line_of(i), r) for i, node in enumerate(r.sequence(root, "lists", "report")))
    seen = set()
    for spec, i in zip(lists, range(len(lists))):
        if spec.name and spec.name in seen:
            r.problem(root["lists"].line_of(i), f"list '{spec.name}' is written twice")
        seen.add(spec.name)
    bulletin = _bulletin(r.mapping(root, "bulletin", "report"), r)
    r.done()
    return ReportDefinition(name=name, title=r.text(root, "title", "report"), rounding=rounding, on_time_base=on_time,
                            counts_as_rectified=rectified, lists=lists, bulletin=bulletin, description=r.text(root, "description", "report", max_len=2000))


def default() -> ReportDefinition:
    """The shipped definition (engine/reports/default.yaml)."""
    text = resources.files("engine.reports").joinpath("default.yaml").read_text(encoding="utf-8")
    return parse_text(text, "default.yaml")


def _rounding(root, r: Reader) -> Rounding:
    node = r.mapping(root, "rounding", "report")
    if node is None:
        return Rounding()
    r.keys(node, ROUNDING_KEYS, "rounding")
    return Rounding(decimals=r.integer(node, "decimals", "rounding", low=0, high=MAX_DECIMALS, default=2),
                    zero=r.text(node, "zero", "rounding", default="/", max_len=8),
                    percent_sign=r.flag(node, "percent_sign", "rounding", True))


def _list(node, line: int, r: Reader) -> ListSpec:
    from engine.domain.definition import source
    if not isinstance(node, source.Mapping):
        r.problem(line, "lists: each list must be a mapping with 'list', 'title', 'when' and 'columns'")
        return ListSpec("", "", "case", conditions.EVERYTHING, ())
    r.keys(node, LIST_KEYS, "list", required=("list", "title", "columns"))
    name = r.name(node, "list", "list")
    where = f"list '{name}'"
    entry = r.choice(node, "entry", where, ENTRIES, "case")
    vocabulary = CASE_COLUMNS if entry == "case" else ENTERPRISE_COLUMNS
    columns = []
    raw = node.get("columns")
    items = r.sequence(node, "columns", where)
    for i, item in enumerate(items):
        at = raw.line_of(i)
        if isinstance(item, source.Mapping):
            r.keys(item, COLUMN_KEYS, f"{where} column", required=("column",))
            key, label = r.text(item, "column", f"{where} column"), r.text(item, "label", f"{where} column", max_len=40)
        else:
            key, label = str(item), ""
        if key not in vocabulary:
            r.problem(at, f"{where}: unknown column '{key}' for {entry} entries (allowed: {', '.join(vocabulary)})")
            continue
        columns.append(Column(key, label or vocabulary[key]))
    if "columns" in node and not items:
        r.problem(node.line_of("columns"), f"{where}: 'columns' needs at least one column")
    return ListSpec(name=name, title=r.text(node, "title", where, max_len=60), entry=entry,
                    when=conditions.parse(node.get("when"), r, where), columns=tuple(columns),
                    description=r.text(node, "description", where, max_len=2000))


def _bulletin(node, r: Reader) -> BulletinLayout:
    if node is None:
        return BulletinLayout()
    r.keys(node, BULLETIN_KEYS, "bulletin")
    title = r.text(node, "title", "bulletin", default=BulletinLayout.title, max_len=120)
    bad = set()
    for m in Template.pattern.finditer(title):
        placeholder = m.group("named") or m.group("braced")
        if m.group("invalid") is not None or (placeholder and placeholder not in TITLE_PLACEHOLDERS):
            bad.add(placeholder or "$")
    if bad:
        r.problem(node.line_of("title"),
                  f"bulletin: title may use only $region, $period and $kind, not {', '.join(sorted(bad))}")
    sections = r.texts(node, "sections", "bulletin") or BULLETIN_SECTIONS
    for s in sections:
        if s not in BULLETIN_SECTIONS:
            r.problem(node.line_of("sections"), f"bulletin: unknown section '{s}' (allowed: {', '.join(BULLETIN_SECTIONS)})")
    if len(set(sections)) != len(sections):
        r.problem(node.line_of("sections"), "bulletin: a section is listed twice")
    return BulletinLayout(
        title=title, issuer=r.text(node, "issuer", "bulletin", default=BulletinLayout.issuer, max_len=60),
        sections=tuple(s for s in sections if s in BULLETIN_SECTIONS),
        general_unit=r.choice(node, "general_unit", "bulletin", ("条", "项"), "条"),
        major_unit=r.choice(node, "major_unit", "bulletin", ("家", "条", "项"), "家"),
        chart_target=r.number(node, "chart_target", "bulletin", low=Decimal(0), high=Decimal(100)))
