"""What every command checks before it writes, and how a case's attributes are read: pure rules the commands
(engine.app.commands), the rulings (engine.app.rulings) and a calendar's recount (engine.app.recalendar) share."""
from __future__ import annotations

from datetime import datetime

from engine.domain import limits, vocabularies
from engine.domain.case import Case
from engine.domain.clock import UTC, deadline_instant, iso_seconds, local, parse_time
from engine.domain.errors import Conflict, InvalidInput, Refused


def check_expected(case: Case, expected_version: int | None) -> None:
    """The case is still at the version the user looked at; a version it never reached is a wrong number."""
    if expected_version is None or case.version == expected_version:
        return
    if expected_version > case.version:
        raise InvalidInput(f"expect_version: {case.id} is at version {case.version}; it has no version "
                           f"{expected_version} yet (give the version `case show` prints)", field="expect_version",
                           rule="version")
    changes = case.version - expected_version
    raise Conflict(f"case {case.id} is at version {case.version}, not {expected_version}: it changed "
                   f"{'once' if changes == 1 else f'{changes} times'} since; look at it again and retry",
                   case_id=case.id, expected_version=expected_version)


def check_time_order(case: Case, now: datetime) -> None:
    """A person's record may not take effect before the last one a person made: they are in force in sequence
    order. The scheduler's escalations do not count: a paper record dated before a reminder the scheduler sent
    is back-filled after it."""
    last = case.acted_at or case.updated_at
    if last is not None and now < last:
        raise Refused(f"{case.id}: the engine time {iso_seconds(now)} is before its last recorded step "
                      f"({iso_seconds(last)})", case_id=case.id, rule="time-order")


def guard_fields(case: Case) -> dict:
    return {**case.fields, "title": case.title, "enterprise": case.enterprise, "region": case.region,
            "industry": case.industry, "level": case.level, "source": case.source}


def utc_text(at: datetime) -> str:
    """An instant as the event data stores it: UTC (it is shown in Asia/Shanghai like every other time)."""
    return at.astimezone(UTC).isoformat()


def report_attributes(*, title, enterprise, region, industry, level, source, found_at, within=()) -> dict:
    """What every case is counted by, checked against the vocabularies and the national list of divisions
    (a code or a name, read by `engine.domain.regions.read`, narrowed by `within` where a name is shared), and stored
    as the report carries it: the region as its six-digit code."""
    limits.check_report_text(title=title, enterprise=enterprise, industry=industry, source=source)
    for name, value in (("title", title), ("enterprise", enterprise), ("industry", industry), ("source", source)):
        if not value or not str(value).strip():
            raise InvalidInput(f"a case needs a {name}", field=name, rule="requires")
    from engine.domain import regions  # a report reads a region; an advance never does
    region = regions.six_digits(regions.read(region, within=within))
    if isinstance(found_at, str):
        found_at = parse_time(found_at, field="found")
    return {"title": title.strip(), "enterprise": enterprise.strip(), "region": region,
            "industry": vocabularies.industries().check(industry), "level": vocabularies.levels().check(level),
            "source": vocabularies.sources().check(source), "found_at": utc_text(found_at)}


def check_deadline_after_found(value: str, found_at: datetime, *, field: str, label: str | None = None) -> None:
    """A deadline (a date is missed at its end; or a time) must fall after the case was found."""
    if deadline_instant(value) <= found_at:
        raise InvalidInput(f"{label or field}: {value} is before the case was found "
                           f"({local(found_at):%Y-%m-%d %H:%M})", field=field)


def check_deadlines(definition, fields: dict, found_at: datetime | str) -> None:
    """Every clock deadline given with a command falls after the case was found."""
    found = datetime.fromisoformat(found_at) if isinstance(found_at, str) else found_at
    for spec in definition.clocks:
        if spec.deadline_field and fields.get(spec.deadline_field):
            name = spec.deadline_field
            check_deadline_after_found(fields[name], found, field=name, label=f"field '{name}'")
