"""Campaigns (专项整治) as data: name, scope, dated stages and targets. Evaluation is in engine/reports/targets.py.

    campaign: heze-2018                       # a name
    title: 菏泽市安全生产隐患排查治理专项行动
    document: 菏安发〔2018〕6号                  # optional: the notice that set it up
    issuer: 菏泽市安委会
    scope:
      region: "3717"                          # the cases in scope: a region prefix (quote it) ...
      from: 2018-10-11                        # ... found in this period
      to: 2018-12-31
      industries: [危险化学品, 非煤矿山]         # optional; none = every industry
      levels: [major, general]                # optional; none = both
      tag: heze-2018                          # optional: only cases carrying this tag
    stages:                                   # in order, not overlapping, inside the scope's period
      - {stage: mobilise, title: 动员部署, from: 2018-10-11, to: 2018-11-04}
    targets:
      - target: rate-90
        title: 各县区隐患整改率不低于90%
        kind: rate                            # TARGET_KINDS below
        at_least: 90                          # percent, for rate, on_time_rate and major_rate
        by: 2018-12-15
        per: county                           # total | city | county: who must meet it
        stage: rectify                        # optional: by default the stage whose dates hold `by`

Kinds: `rate`, `on_time_rate`, `major_rate` (a rate at least `at_least` by `by`, compared as printed, i.e.
rounded by the report's rounding); `dynamic_zero` (动态清零: from `by` on, no major hazard open past its
deadline); `stock_cleared` (no major hazard found before `found_before` still open by `by`); `reporting`
(every unit reports at least once each `every: week` or `month`, from `from` (default: the stage's start)
until `by`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.domain.definition import source
from engine.reports.reading import Reader, load

TOP_KEYS = frozenset({"campaign", "title", "description", "document", "issuer", "scope", "stages", "targets"})
SCOPE_KEYS = frozenset({"region", "from", "to", "industries", "levels", "tag"})
STAGE_KEYS = frozenset({"stage", "title", "from", "to", "description"})
TARGET_KEYS = frozenset({"target", "title", "kind", "at_least", "by", "per", "stage", "found_before", "every", "from",
                         "description"})
TARGET_KINDS = ("rate", "on_time_rate", "major_rate", "dynamic_zero", "stock_cleared", "reporting")
THRESHOLD_KINDS = ("rate", "on_time_rate", "major_rate")
PER = ("total", "city", "county")
EVERY = ("week", "month")
OFFICE_ENDINGS = ("办公室", "办")  # an issuer already an office: 安委会办公室, 安委办


@dataclass(frozen=True)
class Scope:
    region: str
    start: date
    end: date
    industries: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    tag: str = ""


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    start: date
    end: date
    description: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    title: str
    kind: str
    by: date
    stage: str
    per: str = "county"
    at_least: Decimal | None = None
    found_before: date | None = None
    every: str = "week"
    start: date | None = None
    description: str = ""


@dataclass(frozen=True)
class Campaign:
    name: str
    title: str
    scope: Scope
    stages: tuple[Stage, ...]
    targets: tuple[Target, ...]
    document: str = ""
    issuer: str = ""
    description: str = ""

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def office(self) -> str:
        """Who publishes its bulletins (the masthead): the issuer's office, 菏泽市安全生产委员会 -> ...办公室, or the
        issuer itself where it already names an office (曹县安全生产委员会办公室, 菏泽市安委办)."""
        if not self.issuer or self.issuer.endswith(OFFICE_ENDINGS):
            return self.issuer
        return f"{self.issuer}办公室"


def parse_text(text: str, filename: str) -> Campaign:
    """Read a campaign file; DefinitionInvalid (exit 7) lists every problem."""
    root, r = load(text, filename, "campaign"), Reader(filename)
    r.keys(root, TOP_KEYS, "campaign", required=("campaign", "title", "scope", "stages"))
    # Read before `done()`: a problem found after it would never be reported (a bad name installed as '').
    name, title = r.name(root, "campaign", "campaign"), r.text(root, "title", "campaign")
    for key, value in (("campaign", name), ("title", title)):
        if key in root and not value and not _reported(r, root.line_of(key)):
            r.problem(root.line_of(key), f"campaign: '{key}' is empty")
    document = r.text(root, "document", "campaign", max_len=80)
    issuer = r.text(root, "issuer", "campaign", max_len=80)
    description = r.text(root, "description", "campaign", max_len=2000)
    scope = _scope(r.mapping(root, "scope", "campaign"), r)
    stages = _stages(root, r, scope)
    targets = _targets(root, r, scope, stages)
    r.done()
    return Campaign(name=name, title=title, scope=scope, stages=stages, targets=targets, document=document,
                    issuer=issuer, description=description)


def _reported(r: Reader, line: int) -> bool:
    return any(at == line for _, at, _ in r.problems)


def _scope(node, r: Reader) -> Scope:
    if node is None:
        return Scope("", date.min, date.max)
    r.keys(node, SCOPE_KEYS, "scope", required=("region", "from", "to"))
    start, end = r.day(node, "from", "scope"), r.day(node, "to", "scope")
    if start and end and start > end:
        r.problem(node.line_of("to"), f"scope: 'to' ({end}) is before 'from' ({start})")
    levels = r.texts(node, "levels", "scope")
    for level in levels:
        if level not in ("major", "general"):
            r.problem(node.line_of("levels"), f"scope: unknown level '{level}' (major, general)")
    return Scope(region=r.region(node, "region", "scope"), start=start or date.min, end=end or date.max,
                 industries=r.texts(node, "industries", "scope"), levels=levels,
                 tag=r.text(node, "tag", "scope", max_len=64))


def _stages(root, r: Reader, scope: Scope) -> tuple[Stage, ...]:
    stages = []
    items = r.sequence(root, "stages", "campaign")
    if "stages" in root and not items:
        r.problem(root.line_of("stages"), "campaign: 'stages' needs at least one stage")
    for i, node in enumerate(items):
        line = root["stages"].line_of(i)
        if not isinstance(node, source.Mapping):
            r.problem(line, "stages: each stage is a mapping {stage, title, from, to}")
            continue
        r.keys(node, STAGE_KEYS, "stage", required=("stage", "title", "from", "to"))
        name = r.name(node, "stage", "stage")
        where = f"stage '{name}'"
        start, end = r.day(node, "from", where), r.day(node, "to", where)
        if start and end and start > end:
            r.problem(node.line_of("to"), f"{where}: 'to' ({end}) is before 'from' ({start})")
        for key, day in (("from", start), ("to", end)):
            if day and not scope.start <= day <= scope.end:
                r.problem(node.line_of(key), f"{where}: '{key}' ({day}) is outside the campaign's period "
                                             f"{scope.start} .. {scope.end}")
        if stages and start and stages[-1].end >= start:
            r.problem(node.line_of("from"), f"{where}: starts on {start}, before stage '{stages[-1].name}' ends "
                                            f"({stages[-1].end}): stages follow each other")
        if any(s.name == name for s in stages):
            r.problem(line, f"{where} is written twice")
        if start and end and name:
            stages.append(Stage(name, r.text(node, "title", where, max_len=60), start, end,
                                r.text(node, "description", where, max_len=2000)))
    return tuple(stages)


def _targets(root, r: Reader, scope: Scope, stages: tuple[Stage, ...]) -> tuple[Target, ...]:
    targets, names = [], set()
    for i, node in enumerate(r.sequence(root, "targets", "campaign")):
        line = root["targets"].line_of(i)
        if not isinstance(node, source.Mapping):
            r.problem(line, "targets: each target is a mapping {target, kind, by, ...}")
            continue
        r.keys(node, TARGET_KEYS, "target", required=("target", "kind", "by"))
        name = r.name(node, "target", "target")
        where = f"target '{name}'"
        if name in names:
            r.problem(line, f"{where} is written twice")
        names.add(name)
        kind = r.choice(node, "kind", where, TARGET_KINDS, "rate")
        by = r.day(node, "by", where)
        if by and not scope.start <= by <= scope.end:
            r.problem(node.line_of("by"), f"{where}: 'by' ({by}) is outside the campaign's period")
        at_least = r.number(node, "at_least", where, low=Decimal(0), high=Decimal(100))
        if kind in THRESHOLD_KINDS and at_least is None and "at_least" not in node:
            r.problem(node.line, f"{where}: a {kind} target needs 'at_least' (a percent, e.g. 90)")
        found_before = r.day(node, "found_before", where)
        if kind == "stock_cleared" and found_before is None and "found_before" not in node:
            r.problem(node.line, f"{where}: a stock_cleared target needs 'found_before' (a date)")
        for key, applies in (("at_least", kind in THRESHOLD_KINDS), ("found_before", kind == "stock_cleared"),
                             ("every", kind == "reporting"), ("from", kind == "reporting")):
            if key in node and not applies:
                r.problem(node.line_of(key), f"{where}: '{key}' does not apply to a {kind} target")
        stage_name = r.name(node, "stage", where)
        if stage_name and not any(s.name == stage_name for s in stages):
            r.problem(node.line_of("stage"), f"{where}: unknown stage '{stage_name}'")
        if not stage_name and by:
            holder = next((s for s in stages if s.start <= by <= s.end), None)
            if holder is None and stages:
                r.problem(node.line_of("by"), f"{where}: no stage holds {by}; name one with 'stage'")
            stage_name = holder.name if holder else ""
        start = r.day(node, "from", where)
        if by and start and start > by:
            r.problem(node.line_of("from"), f"{where}: 'from' ({start}) is after 'by' ({by})")
        if by:
            targets.append(Target(name=name, title=r.text(node, "title", where, max_len=120), kind=kind, by=by,
                                  stage=stage_name, per=r.choice(node, "per", where, PER, "county"),
                                  at_least=at_least, found_before=found_before,
                                  every=r.choice(node, "every", where, EVERY, "week"), start=start,
                                  description=r.text(node, "description", where, max_len=2000)))
    return tuple(targets)
