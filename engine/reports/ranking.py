"""Ranking groups on weighted indicators (考核排序), as the weights file says; the file's format and the arithmetic.

    ranking: county-quarterly
    title: 县区隐患排查治理考核排序
    normalise: minmax        # minmax: per indicator the best group scores 100, the worst 0
                             # share: the value as a share of the best (lower-is-better: best / value)
    missing: worst           # a group without a value: worst (scores 0 on it) | skip (its weight is spread over
                             # the group's other indicators) | exclude (not ranked; listed after the ranked ones)
    ties: shared             # equal scores share a place: shared 1, 1, 3 | dense 1, 1, 2
    tie_break: [found]       # optional: before declaring a tie, compare these indicators' values in order
    indicators:
      - {indicator: rate, weight: 40}                    # better: higher is the indicator's default
      - {indicator: overdue_count, weight: 20, better: lower}

The score is the weighted mean of the indicator scores (0..100), computed in exact fractions so that equal
scores are really equal; it is shown rounded half up to two decimals. Weights are 0.01..1000.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from engine.definition import source
from engine.reports.reading import Reader, load

# Indicator -> the direction that is better. The first ones come from the stats row; the last three are the
# Henan seed's (执法检查企业平均数, 立案率, 上线率), given by the caller where it has them.
INDICATORS = {"rate": "higher", "on_time_rate": "higher", "major_rate": "higher", "major_on_time_share": "higher",
              "overdue_count": "lower", "open": "lower", "found": "higher", "rectified": "higher",
              "interviews": "lower", "notices": "lower", "postings": "lower",
              "enterprises_inspected": "higher", "case_filing_rate": "higher", "online_rate": "higher"}
# What an indicator is called where its file gives no `label`.
INDICATOR_LABELS = {"rate": "整改率", "on_time_rate": "按期整改率", "major_rate": "重大隐患整改率",
                    "major_on_time_share": "重大隐患按期整改占比", "overdue_count": "逾期未整改", "open": "未整改",
                    "found": "排查隐患", "rectified": "已整改", "interviews": "被约谈", "notices": "被通报",
                    "postings": "被挂牌督办", "enterprises_inspected": "执法检查企业数", "case_filing_rate": "立案率",
                    "online_rate": "上线率"}
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
    score: Decimal | None         # rounded half up, 2 decimals
    exact: Fraction | None
    scores: dict                  # indicator -> its 0..100 score (rounded), or None when missing
    missing: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"group": self.group, "position": self.position,
                "score": float(self.score) if self.score is not None else None,
                "scores": {k: (float(v) if v is not None else None) for k, v in self.scores.items()},
                "missing": list(self.missing)}


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


def _indicator_scores(ind: Indicator, values: dict[str, Fraction | None], normalise: str) -> dict[str, Fraction | None]:
    present = [v for v in values.values() if v is not None]
    if not present:
        return dict.fromkeys(values)
    lo, hi = min(present), max(present)
    out = {}
    for group, v in values.items():
        if v is None:
            out[group] = None
        elif normalise == "minmax":
            if hi == lo:
                out[group] = Fraction(100)
            else:
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
    scores = {ind.name: _indicator_scores(ind, raw[ind.name], spec.normalise) for ind in spec.indicators}
    results = {}
    for g in groups:
        missing = tuple(ind.name for ind in spec.indicators if scores[ind.name][g] is None)
        if missing and spec.missing == "exclude":
            results[g] = None
            continue
        counted = [ind for ind in spec.indicators if scores[ind.name][g] is not None or spec.missing == "worst"]
        total_weight = sum((Fraction(ind.weight) for ind in counted), Fraction(0))
        exact = (sum((Fraction(ind.weight) * (scores[ind.name][g] or 0) for ind in counted), Fraction(0)) / total_weight
                 if total_weight else Fraction(0))
        results[g] = exact

    def key(g):
        breaks = []
        for name in spec.tie_break:
            v = _exact(values[g].get(name))
            direction = next((i.better for i in spec.indicators if i.name == name), INDICATORS[name])
            # missing values sort last; lower-is-better compares negated
            breaks.append((v is None, -(v or 0) if direction == "higher" else (v or 0)))
        return (-results[g], *breaks)

    ranked = sorted((g for g in groups if results[g] is not None), key=key)
    out, position, previous = [], 0, None
    for index, g in enumerate(ranked):
        k = key(g)
        if k != previous:
            position = index + 1 if spec.ties == "shared" else position + 1
        previous = k
        out.append(_ranked(g, position, results[g], spec, scores))
    out += [_ranked(g, None, None, spec, scores) for g in groups if results[g] is None]
    return out


def _ranked(g, position, exact, spec, scores) -> Ranked:
    return Ranked(group=g, position=position, score=_round(exact), exact=exact,
                  scores={ind.name: _round(scores[ind.name][g]) for ind in spec.indicators},
                  missing=tuple(ind.name for ind in spec.indicators if scores[ind.name][g] is None))


def _round(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    scaled = value * 100
    whole = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)  # half up (scores are >= 0)
    return Decimal(whole).scaleb(-2)
