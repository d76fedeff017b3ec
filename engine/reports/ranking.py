"""Ranking groups on weighted indicators (考核排序), as the weights file says; the file's format and the arithmetic.

    ranking: county-quarterly
    title: 县区隐患排查治理考核排序
    normalise: minmax        # minmax: per indicator the best group scores 100, the worst 0
                             # share: the value as a share of the best (lower-is-better: best / value)
                             # either way, only where the groups ranked differ on it (below)
    missing: worst           # a group without a value: worst (scores 0 on it) | skip (its weight is spread over
                             # the group's other indicators) | exclude (not ranked; listed after the ranked ones)
    ties: shared             # equal scores share a place: shared 1, 1, 3 | dense 1, 1, 2
    tie_break: [found]       # optional: before declaring a tie, compare these indicators' values in order
    indicators:
      - {indicator: rate, weight: 40}                    # better: higher is the indicator's default
      - {indicator: overdue_count, weight: 20, better: lower}

The score is the weighted mean of the indicator scores (0..100), computed in exact fractions so that equal
scores are really equal; it is shown rounded half up to two decimals. Weights are 0.01..1000.

A score says where a group stands among the others, so an indicator is scored only where at least two of the
groups ranked have different values: one county with figures, or counties all equal on it, would otherwise score
100 each on a rate of 36%. Such an indicator is *unscored* for everyone (no score, no weight in the totals); a
group none of whose indicators is scored has no total and shares its place with the others like it. The
groups left out by `missing: exclude` are not in the comparison at all, so they do not set its best or worst.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from engine.domain.definition import source
from engine.reports.reading import Reader, load

# Indicator -> the direction that is better. The first ones come from the stats row; the last three are the
# Henan seed's (执法检查企业平均数, 立案率, 上线率), given by the caller where it has them.
INDICATORS = {"rate": "higher", "on_time_rate": "higher", "major_rate": "higher", "major_on_time_share": "higher",
              "overdue_count": "lower", "open": "lower", "found": "higher", "rectified": "higher",
              "interviews": "lower", "notices": "lower", "postings": "lower",
              "enterprises_inspected": "higher", "case_filing_rate": "higher", "online_rate": "higher"}
# What an indicator is called where its file gives no `label`.
# A rate says which levels it covers, as the bulletin's do: rate and on_time_rate are of all hazards.
INDICATOR_LABELS = {"rate": "全部隐患整改率", "on_time_rate": "全部隐患按期整改率", "major_rate": "重大隐患整改率",
                    "major_on_time_share": "重大隐患按期整改占比", "overdue_count": "逾期未整改", "open": "未整改",
                    "found": "排查隐患", "rectified": "已整改", "interviews": "被约谈", "notices": "被通报",
                    "postings": "被挂牌督办", "enterprises_inspected": "执法检查企业数", "case_filing_rate": "立案率",
                    "online_rate": "上线率"}
# What an indicator's value counts, for its column heading: hazards (条 or 项, the report's word), times (次),
# enterprises (家); a rate carries its percent sign in the cell.
INDICATOR_UNITS = {"overdue_count": "hazards", "open": "hazards", "found": "hazards", "rectified": "hazards",
                   "interviews": "次", "notices": "次", "postings": "次", "enterprises_inspected": "家"}
RATE_INDICATORS = frozenset({"rate", "on_time_rate", "major_rate", "major_on_time_share", "case_filing_rate",
                             "online_rate"})
TOP_KEYS = frozenset({"ranking", "title", "description", "normalise", "missing", "ties", "tie_break", "indicators"})
INDICATOR_KEYS = frozenset({"indicator", "weight", "better", "label"})
NORMALISE, MISSING, TIES, DIRECTIONS = ("minmax", "share"), ("worst", "skip", "exclude"), ("shared", "dense"), \
    ("higher", "lower")
MAX_INDICATORS = 20


@dataclass(frozen=True)
class Indicator:
    name: str
    weight: Decimal
    better: str
    label: str = ""

    @property
    def shown(self) -> str:
        """The name printed: the file's label, else the indicator's Chinese name."""
        return self.label or INDICATOR_LABELS.get(self.name, self.name)

    @property
    def is_rate(self) -> bool:
        return self.name in RATE_INDICATORS

    def value_heading(self, *, hazard_unit: str = "条", percent_sign: bool = True) -> str:
        """The heading of the value's column, with what it counts: 逾期未整改（条）, 被约谈（次）, 整改率."""
        unit = INDICATOR_UNITS.get(self.name)
        if unit == "hazards":
            unit = hazard_unit
        elif self.is_rate:
            unit = "" if percent_sign else "%"  # the cells carry the sign, else the heading does
        return f"{self.shown}（{unit}）" if unit else self.shown

    def score_heading(self) -> str:
        return f"{self.shown}得分"


@dataclass(frozen=True)
class RankingSpec:
    name: str
    title: str
    indicators: tuple[Indicator, ...]
    normalise: str = "minmax"
    missing: str = "worst"
    ties: str = "shared"
    tie_break: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ranked:
    group: str
    position: int | None          # None: excluded for missing data
    score: Decimal | None         # rounded half up, 2 decimals; None: excluded, or nothing could be scored
    exact: Fraction | None
    scores: dict                  # indicator -> its 0..100 score (rounded); None: missing (not worst) or unscored
    missing: tuple[str, ...]      # the indicators this group has no value for
    unscored: tuple[str, ...] = ()  # the indicators no group is scored on (one value, or all equal)
    values: dict = field(default_factory=dict)  # indicator -> the value ranked on, as given

    def as_dict(self) -> dict:
        return {"group": self.group, "position": self.position,
                "score": float(self.score) if self.score is not None else None,
                "scores": {k: (float(v) if v is not None else None) for k, v in self.scores.items()},
                "values": {k: plain(v) for k, v in self.values.items()},
                "missing": list(self.missing), "unscored": list(self.unscored)}


def plain(value):
    """A value as JSON carries it: whole numbers stay int, rates become float."""
    return float(value) if value is not None and not isinstance(value, int) else value


def parse_text(text: str, filename: str) -> RankingSpec:
    root, r = load(text, filename, "ranking weights"), Reader(filename)
    r.keys(root, TOP_KEYS, "ranking", required=("ranking", "indicators"))
    items = r.sequence(root, "indicators", "ranking")
    if "indicators" in root and not items:
        r.problem(root.line_of("indicators"), "ranking: 'indicators' needs at least one indicator")
    if len(items) > MAX_INDICATORS:
        r.problem(root.line_of("indicators"), f"ranking: at most {MAX_INDICATORS} indicators")
    indicators, seen = [], set()
    for i, node in enumerate(items):
        line = root["indicators"].line_of(i)
        if not isinstance(node, source.Mapping):
            r.problem(line, "ranking: each indicator is a mapping {indicator: NAME, weight: N}")
            continue
        r.keys(node, INDICATOR_KEYS, "indicator", required=("indicator", "weight"))
        name = r.text(node, "indicator", "indicator")
        if name and name not in INDICATORS:
            r.problem(node.line_of("indicator"), f"indicator: unknown indicator '{name}' (allowed: {', '.join(INDICATORS)})")
            continue
        if name in seen:
            r.problem(node.line_of("indicator"), f"indicator: '{name}' is listed twice")
        seen.add(name)
        weight = r.number(node, "weight", f"indicator '{name}'", low=Decimal("0.01"), high=Decimal(1000))
        better = r.choice(node, "better", f"indicator '{name}'", DIRECTIONS, INDICATORS.get(name, "higher"))
        if name and weight is not None:
            indicators.append(Indicator(name, weight, better, r.text(node, "label", f"indicator '{name}'", max_len=40)))
    tie_break = r.texts(root, "tie_break", "ranking")
    for name in tie_break:
        if name not in INDICATORS:
            r.problem(root.line_of("tie_break"), f"ranking: tie_break: unknown indicator '{name}'")
    spec = RankingSpec(name=r.name(root, "ranking", "ranking"), title=r.text(root, "title", "ranking"),
                       indicators=tuple(indicators), normalise=r.choice(root, "normalise", "ranking", NORMALISE, "minmax"),
                       missing=r.choice(root, "missing", "ranking", MISSING, "worst"),
                       ties=r.choice(root, "ties", "ranking", TIES, "shared"), tie_break=tie_break)
    r.done()
    return spec


def _exact(value) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("an indicator value must be a number")
    return Fraction(value) if isinstance(value, (int, Fraction)) else Fraction(Decimal(str(value)))


def _indicator_scores(ind: Indicator, values: dict[str, Fraction | None],
                      normalise: str) -> dict[str, Fraction | None] | None:
    """Each group's 0..100 score on one indicator (None where it has no value); None when the indicator cannot be
    scored: fewer than two different values among the groups, so nothing to stand higher or lower than."""
    present = [v for v in values.values() if v is not None]
    if len(set(present)) < 2:
        return None
    lo, hi = min(present), max(present)
    out = {}
    for group, v in values.items():
        if v is None:
            out[group] = None
        elif normalise == "minmax":
            out[group] = (v - lo if ind.better == "higher" else hi - v) * 100 / (hi - lo)
        elif ind.better == "higher":  # share of the best
            out[group] = Fraction(100) if hi <= 0 else max(v, Fraction(0)) * 100 / hi
        else:
            out[group] = Fraction(100) if v <= 0 else max(lo, Fraction(0)) * 100 / v
    return out


def rank(spec: RankingSpec, values: dict[str, dict]) -> list[Ranked]:
    """Rank groups (group -> {indicator: value or None}) by the spec; ranked groups first, best first."""
    groups = sorted(values)
    raw = {ind.name: {g: _exact(values[g].get(ind.name)) for g in groups} for ind in spec.indicators}
    missing = {g: tuple(ind.name for ind in spec.indicators if raw[ind.name][g] is None) for g in groups}
    pool = [g for g in groups if not (missing[g] and spec.missing == "exclude")]
    scores = {ind.name: _indicator_scores(ind, {g: raw[ind.name][g] for g in pool}, spec.normalise)
              for ind in spec.indicators}
    scored = [ind for ind in spec.indicators if scores[ind.name] is not None]
    unscored = tuple(ind.name for ind in spec.indicators if scores[ind.name] is None)
    if spec.missing == "worst":  # no value on a scored indicator: the worst score
        for ind in scored:
            scores[ind.name] = {g: Fraction(0) if s is None else s for g, s in scores[ind.name].items()}
    results: dict[str, Fraction | None] = {}
    for g in pool:
        counted = [ind for ind in scored if scores[ind.name][g] is not None]
        total_weight = sum((Fraction(ind.weight) for ind in counted), Fraction(0))
        results[g] = (sum((Fraction(ind.weight) * scores[ind.name][g] for ind in counted), Fraction(0)) / total_weight
                      if total_weight else None)

    def key(g):
        breaks = []
        for name in spec.tie_break:
            v = _exact(values[g].get(name))
            direction = next((i.better for i in spec.indicators if i.name == name), INDICATORS[name])
            # missing values sort last; lower-is-better compares negated
            breaks.append((v is None, -(v or 0) if direction == "higher" else (v or 0)))
        return (results[g] is None, -(results[g] or 0), *breaks)  # a group without a score after those with one

    def ranked_row(g, position):
        return Ranked(group=g, position=position, score=_round(results.get(g)), exact=results.get(g),
                      scores={ind.name: _round((scores[ind.name] or {}).get(g)) if g in results else None
                              for ind in spec.indicators},
                      missing=missing[g], unscored=unscored,
                      values={ind.name: values[g].get(ind.name) for ind in spec.indicators})

    out, position, previous = [], 0, None
    for index, g in enumerate(sorted(pool, key=key)):
        k = key(g)
        if k != previous:
            position = index + 1 if spec.ties == "shared" else position + 1
        previous = k
        out.append(ranked_row(g, position))
    return out + [ranked_row(g, None) for g in groups if g not in results]


def _round(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    scaled = value * 100
    whole = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)  # half up (scores are >= 0)
    return Decimal(whole).scaleb(-2)


# -- as printed: the bulletin's 综合排名 and `hazard report ranking` -------------------------------------------------
NOT_RANKED, NO_SCORE = "不参与排名", "不计分"
NORMALISE_NOTES = {
    "minmax": "得分：每项指标在参与排名的单位中最好的记 100 分、最差的记 0 分，其余按数值所处位置折算；",
    "share": "得分：每项指标为本单位数值占最好数值的百分比（越低越好的指标为最好数值占本单位数值的百分比）；",
}


def section(spec: RankingSpec, rows: list[Ranked], *, names: dict | None = None, hazard_unit: str = "条",
            percent_sign: bool = True) -> dict:
    """The ranking as a bulletin document carries it (JSON-ready): each indicator's name and the headings of its
    value and score columns, which indicators no group is scored on, and the rows with their values and scores."""
    names = names or {}
    return {"title": spec.title, "normalise": spec.normalise, "indicators": [i.name for i in spec.indicators],
            "labels": {i.name: i.shown for i in spec.indicators},
            "value_labels": {i.name: i.value_heading(hazard_unit=hazard_unit, percent_sign=percent_sign)
                             for i in spec.indicators},
            "score_labels": {i.name: i.score_heading() for i in spec.indicators},
            "rates": [i.name for i in spec.indicators if i.is_rate],
            "unscored": list(rows[0].unscored) if rows else [i.name for i in spec.indicators],
            "rows": [{**row.as_dict(), "name": names.get(row.group, row.group)} for row in rows]}


def table(doc: dict, *, group_heading: str):
    """A ranking section as a table: place, group, total score, then each indicator's value and its score, side
    by side and each headed as what it is (逾期未整改（条） | 逾期未整改得分). A score nobody could get reads 不计分."""
    from engine.reports.blocks import Column, Table

    indicators, unscored, rates = doc.get("indicators") or [], set(doc.get("unscored") or ()), set(doc.get("rates") or ())
    labels, value_labels, score_labels = (doc.get(k) or {} for k in ("labels", "value_labels", "score_labels"))
    columns = [Column("position", "名次", "rank"), Column("name", group_heading), Column("score", "综合得分", "score")]
    for i in indicators:
        columns += [Column(f"v_{i}", value_labels.get(i, labels.get(i, i)), "rate" if i in rates else "count"),
                    Column(f"s_{i}", score_labels.get(i, f"{labels.get(i, i)}得分"), "score")]
    rows = []
    for r in doc.get("rows") or []:
        placed = r.get("position") is not None
        row = {"position": r["position"] if placed else NOT_RANKED, "name": r.get("name") or r["group"],
               "score": r.get("score") if r.get("score") is not None else NO_SCORE if placed else None}
        for i in indicators:
            value = (r.get("values") or {}).get(i)
            row[f"v_{i}"] = Decimal(str(value)) if i in rates and value is not None else value
            score = (r.get("scores") or {}).get(i)
            row[f"s_{i}"] = score if score is not None else NO_SCORE if placed and i in unscored else None
        rows.append(row)
    return Table(doc.get("title", ""), columns, rows, sheet="排名")


def note(doc: dict) -> str:
    """What a score is, and which indicators were not scored and why, under the table."""
    indicators, labels = doc.get("indicators") or [], doc.get("labels") or {}
    unscored = [i for i in indicators if i in (doc.get("unscored") or ())]
    if unscored and len(unscored) == len(indicators):
        return "参与排名的单位各项指标数值相同或仅一个单位有数值，无从比较，不计算得分，仅列数值。"
    text = NORMALISE_NOTES.get(doc.get("normalise", "minmax"), NORMALISE_NOTES["minmax"]) + "综合得分为各项得分按权重的加权平均。"
    if unscored:
        text += (f"{'、'.join(labels.get(i, i) for i in unscored)}：参与排名的单位数值相同或仅一个单位有数值，"
                 "不计分，不计入综合得分。")
    return text
