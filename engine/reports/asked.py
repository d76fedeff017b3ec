"""How a report reads what it is asked (days, moments, a region, a level, the fields to group by) and scopes the
hazards it counts: the helpers every report of the app part shares (stats, bulletins, rankings, campaigns), in a
module of their own so that none of those imports another."""
from __future__ import annotations

from datetime import date, datetime

from engine.domain import regions, vocabularies
from engine.domain.clock import end_of_day, parse_day, parse_time, start_of_day
from engine.domain.errors import InvalidInput
from engine.reports.figures import Counts
from engine.reports.tally import COLUMN_OF, GROUP_FIELDS, REGION_FIELDS, CaseScope

REGION_ORDER = ("province", "city", "county")


# -- what users give --------------------------------------------------------------------------------------------
def day_of(value, name: str) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) and not isinstance(value, datetime) else parse_day(str(value), name)


def moment_of(value) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else parse_time(str(value))


def region_of(value) -> str | None:
    """A report's region, read as everywhere (a code or a name of the national list: `engine.domain.regions.read`)."""
    return regions.read(value) if value not in (None, "") else None


def level_of(value) -> str | None:
    return vocabularies.levels().check(value) if value not in (None, "") else None


def check_by(by) -> tuple[str, ...]:
    fields = tuple(dict.fromkeys(by or ()))
    unknown = [f for f in fields if f not in GROUP_FIELDS]
    if unknown:
        raise InvalidInput(f"cannot group by {', '.join(unknown)} (one of: {', '.join(GROUP_FIELDS)})", field="by")
    return fields


def found_scope(base: CaseScope, start: date | None, end: date | None) -> CaseScope:
    if start and end and start > end:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})", field="to")
    return base.narrowed(found_from=start_of_day(start) if start else None,
                         found_to=end_of_day(end) if end else None)


def looked_at(end: date | None, now: datetime) -> datetime:
    """The moment a period is looked at: the end of its last day, or now while it is still running."""
    return min(end_of_day(end), now) if end else now


# -- regions ------------------------------------------------------------------------------------------------------
def region_level(within: str | None) -> str:
    """What `--by region` means under a region: the level below it (a province's cities, a city's counties)."""
    if not within:
        return "province"
    if len(within) == 2:
        return "county" if regions.units(within, "city") == [within] else "city"
    return "county"


def field_level(field: str, within: str | None) -> str | None:
    if field == "region":
        return region_level(within)
    return REGION_FIELDS.get(field)


def grouped(raw: dict[tuple, Counts], columns: tuple[str, ...], by: tuple[str, ...],
            within: str | None) -> dict[tuple, Counts]:
    """GROUP BY rows (keyed by register columns, regions by county code) keyed by the `by` fields instead:
    regions rolled up, and every division under `within` present (zeros where nothing was found)."""
    position = {column: i for i, column in enumerate(columns)}
    levels = [field_level(f, within) for f in by]
    out: dict[tuple, Counts] = {}
    for key, counts in raw.items():
        values = tuple(regions.roll_up(key[position["region"]], lvl) if lvl else key[position[COLUMN_OF[f]]]
                       for f, lvl in zip(by, levels))
        out[values] = out.get(values, Counts()) + counts
    region_levels = [lvl for lvl in levels if lvl]
    if within and region_levels:
        finest = max(region_levels, key=REGION_ORDER.index)
        seen = {regions.roll_up(k[i], finest) for k in out for i, lvl in enumerate(levels) if lvl == finest}
        for unit in regions.units(within, finest):
            if unit not in seen:
                out[tuple(regions.roll_up(unit, lvl) if lvl else None for lvl in levels)] = Counts()
    return dict(sorted(out.items(), key=lambda item: tuple((v is None, str(v)) for v in item[0])))


def group_document(by: tuple[str, ...], values: tuple, states: dict[str, str] | None = None) -> dict:
    """A group's keys as stored (the JSON's), with regions' names and the Chinese labels of levels, sources
    and states beside them (`states`: state_labels())."""
    doc = {}
    for field, value in zip(by, values):
        doc[field] = value
        if field in REGION_FIELDS or field == "region":
            doc[f"{field}_name"] = regions.label(value) if value else None
        elif field in ("level", "source"):
            doc[f"{field}_label"] = vocabularies.label_of(field, value) if value else None
        elif field == "state":
            doc["state_label"] = (states or {}).get(value, value) if value else None
    return doc
