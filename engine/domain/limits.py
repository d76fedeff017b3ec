"""Every bound the engine puts on its input, in one place, each with the reason for its value.

A value past a bound is refused where it enters, naming the input: a definition problem as
`FILE:LINE: message` (DefinitionInvalid, exit 7), anything else as InvalidInput (exit 2). Nothing is written.
The bounds are far above real use and far below what would break Python, the YAML library or a database:
`datetime` overflows past year 9999 after any addition, `timedelta` past 999,999,999 days, `Decimal`
arithmetic past 28 digits, PyYAML expands aliases without a limit and recurses once per nesting level.
The manual's "Limits" table (docs/operations.md) lists them; a test checks it against this module.
"""
from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from engine.domain.errors import InvalidInput

# -- definition files (YAML) ------------------------------------------------------------------------------
# The largest built-in workflow is under 5 KB; 256 KiB is fifty of them, still a file a person can review.
MAX_DEFINITION_BYTES = 256 * 1024
# Definitions nest 7 levels at most (transitions > item > guards > guard > operands > values); PyYAML's
# composer recurses about three frames per level, so thousands of levels end in a RecursionError.
MAX_YAML_DEPTH = 32
# Anchors let a definition reuse a role list; a hundred references is more than any definition needs.
MAX_YAML_ALIASES = 100
# Values after aliases are expanded (the built-ins have about 420): an alias bomb ("billion laughs")
# multiplies nodes with few aliases, so the expanded size is bounded, not only the alias count.
MAX_YAML_NODES = 50_000

# -- numbers in a definition --------------------------------------------------------------------------------
# Durations, rung offsets (`N days before/after`) and posted-supervision deadlines: ten years is past any
# rule's deadline (the longest in the seeds is one year for posted supervision, three for a blacklisting),
# and keeps every due time far inside what `datetime` can hold.
MAX_DAYS = 3650
# A sweep later than the grace counts a rung as missed; after a week the scheduler was plainly down.
MAX_GRACE_MINUTES = 7 * 24 * 60
# Real workflows have under 10 states and 20 transitions; these stop a runaway generated file early.
MAX_STATES = 200
MAX_TRANSITIONS = 1000
MAX_FIELDS = 200
MAX_CLOCKS = 50
MAX_RUNGS = 200

# -- dates and times ----------------------------------------------------------------------------------------
# Case data (found, deadlines, --now, --as-of, extensions) lies in these years. No hazard ledger is older
# than the Work Safety Law (2002); 2100 leaves every ten-year deadline decades of room, and the bounds keep
# all date arithmetic (offsets, pauses, a day's end) far from `datetime`'s year 1 and 9999. China has used
# UTC+8 without daylight saving since 1991, so a fixed offset is exact for every year accepted.
_UTC8 = timezone(timedelta(hours=8))
MIN_YEAR = 2000
MAX_YEAR = 2100

# -- text -----------------------------------------------------------------------------------------------------
# In characters (Chinese or not). A hazard's description (隐患内容) is a sentence or two in most ledgers, but a
# real row holds 615 (a numbered list of the problems at one work point): room for that, still bounded.
MAX_TITLE_CHARS = 2000
# The longest registered company names run to about 60 characters.
MAX_NAME_CHARS = 200
# Industry, source, region and other codes are short words.
MAX_CODE_CHARS = 100
# Measures, opinions, plans: several pages of Chinese; longer documents belong in an attachment.
MAX_TEXT_CHARS = 20_000
# User names are log-in names.
MAX_USER_CHARS = 64
# No step takes more fields than the five implementations plus a few notes.
MAX_SET_FIELDS = 50

# -- money ---------------------------------------------------------------------------------------------------
# 10^12 yuan (一万亿元) is above any single rectification's budget (China's GDP is about 1.3 x 10^14) and
# keeps amounts within Decimal's 28 digits; amounts are kept to the fen (0.01 yuan).
MAX_MONEY = Decimal(10) ** 12

# -- command line ------------------------------------------------------------------------------------------
# `--limit`, `--version`, `--expect-version`: a 64-bit database integer holds them; a register of a million
# cases is printed in pieces.
MAX_LIST_LIMIT = 1_000_000
MAX_VERSION = 2 ** 31 - 1
# `hazard scheduler --interval`: below 0.1 s sweeps would run back to back (a busy loop against the
# database); above a day a ladder of daily rungs would fire late by a day.
MIN_INTERVAL_SECONDS = 0.1
MAX_INTERVAL_SECONDS = 86_400.0

# -- ledger files (`hazard import`) -------------------------------------------------------------------------
# Each checked before the file is parsed, refused with exit 2 naming the bound and the file. A county's ledger
# of a year is a few thousand rows (under 2 MB as xlsx, 5 MB as CSV); 100,000 rows are 6 MB as xlsx, 26 MB
# as CSV. The file's size is a database setting (`hazard init --import-max-mb N`), default 50 MB, at most 1 GB.
DEFAULT_IMPORT_MAX_MB = 50
MAX_IMPORT_MAX_MB = 1024
# An evidence file (`hazard case attach`): a phone's photo is 2-8 MB, a scanned acceptance report 5-15 MB. The
# limit per file is a database setting (`attach_max_mb` in the users' log), default 20 MB, at most 200 MB; one
# command attaches at most MAX_ATTACH_FILES files.
DEFAULT_ATTACH_MAX_MB = 20
MAX_ATTACH_MAX_MB = 200
MAX_ATTACH_FILES = 50
# One part of an xlsx/ods zip inflated (a sheet's XML, the shared strings): 100,000 rows x 15 columns are a
# 45 MB sheet; a zip bomb's sheet inflates to gigabytes from a few MB. All parts together: twice that.
MAX_ZIP_PART_BYTES = 128 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 256 * 1024 * 1024
# Inflated / compressed, for a part past 1 MiB: a sheet's XML packs about 10:1, repetitive ones 50:1; deflate
# tops out near 1,032:1, which is what a bomb uses.
MAX_ZIP_RATIO = 200
# Cells of the sheet read, counted from A1 to its last row and column (the reader makes the rectangle whole),
# or of a CSV file: 100,000 rows x 15 columns are 1.5 million (300 MB in `import --dry-run`), a 50 MB CSV of
# 15 columns 2.85 million (400 MB); the bound keeps an import under 500 MB.
MAX_CELLS = 3_000_000
# A physical line of a CSV file, in characters: a row of 500 columns of 2,000 characters; a longer line is
# refused as soon as it is met, before it is held whole.
MAX_CSV_LINE_CHARS = 1_000_000

# Tab and line breaks are text; every other control character (NUL, ESC, ...) is refused on both databases
# alike: PostgreSQL cannot store NUL, and escape sequences would rewrite a terminal showing the record.
_TEXT_WHITESPACE = frozenset("\t\n\r")


def shown(text: str, width: int = 40) -> str:
    """A value as quoted in a message: cut short, with escapes for what a terminal must not see."""
    cut = text if len(text) <= width else text[:width] + "..."
    return repr(cut)


def check_text(value: str, *, field: str, max_chars: int, multiline: bool = False, label: str | None = None) -> str:
    """Refuse a text that is too long, not UTF-8 (a lone surrogate from a non-UTF-8 argument) or holds
    control characters (tab and line breaks allowed when `multiline`). `label` names it in the message."""
    label = label or field
    if len(value) > max_chars:
        raise InvalidInput(f"{label}: {len(value):,} characters is more than the limit of {max_chars:,}", field=field)
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cs":
            raise InvalidInput(f"{label}: not UTF-8 text (an undecodable byte at character {position + 1})",
                               field=field)
        if category == "Cc" and not (multiline and char in _TEXT_WHITESPACE):
            raise InvalidInput(f"{label}: control character U+{ord(char):04X} at character {position + 1} "
                               "is not allowed", field=field)
    return value


def check_year(value: date | datetime, *, field: str, text: str | None = None, label: str | None = None) -> None:
    """Refuse a date or time outside MIN_YEAR..MAX_YEAR: as written (before any arithmetic could overflow),
    and for a time with an offset also in the rules' UTC+8 (`2100-12-31T23:59-12:00` is 2101 there)."""
    year = value.year
    if MIN_YEAR <= year <= MAX_YEAR and isinstance(value, datetime) and value.tzinfo is not None:
        year = value.astimezone(_UTC8).year
    if not MIN_YEAR <= year <= MAX_YEAR:
        given = shown(text) if text is not None else value.isoformat()
        raise InvalidInput(f"{label or field}: {given} is outside the years {MIN_YEAR}-{MAX_YEAR} the engine "
                           "accepts", field=field)


def check_interval(seconds: float) -> float:
    """The scheduler's interval: a finite number of seconds within the bounds."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
            and MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS):
        given = f"{seconds:g}" if isinstance(seconds, (int, float)) else repr(seconds)
        raise InvalidInput(f"interval {given}: give seconds from {MIN_INTERVAL_SECONDS:g} to "
                           f"{MAX_INTERVAL_SECONDS:g} (one day)", field="interval")
    return float(seconds)


def check_import_max_mb(value) -> int:
    """The import's file-size setting: whole megabytes from 1 to MAX_IMPORT_MAX_MB."""
    if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_IMPORT_MAX_MB):
        raise InvalidInput(f"import_max_mb {value!r}: give whole MB from 1 to {MAX_IMPORT_MAX_MB}", field="import_max_mb")
    return value


def import_max_bytes(setting: str | None) -> int:
    """The bytes an import reads, from the stored setting (None: the default)."""
    try:
        megabytes = int(setting) if setting is not None else DEFAULT_IMPORT_MAX_MB
    except ValueError:
        megabytes = DEFAULT_IMPORT_MAX_MB
    return min(max(megabytes, 1), MAX_IMPORT_MAX_MB) * 1_000_000


def check_attach_max_mb(value) -> int:
    """The evidence file-size setting: whole megabytes from 1 to MAX_ATTACH_MAX_MB."""
    if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ATTACH_MAX_MB):
        raise InvalidInput(f"attach_max_mb {value!r}: give whole MB from 1 to {MAX_ATTACH_MAX_MB}", field="attach_max_mb")
    return value


def attach_max_bytes(setting: str | None) -> int:
    """The bytes one evidence file may have, from the stored setting `attach_max_mb` (None: the default)."""
    try:
        megabytes = int(setting) if setting is not None else DEFAULT_ATTACH_MAX_MB
    except ValueError:
        megabytes = DEFAULT_ATTACH_MAX_MB
    return min(max(megabytes, 1), MAX_ATTACH_MAX_MB) * 1_000_000


def check_report_text(*, title: str, enterprise: str, industry: str, source: str) -> None:
    """The attributes every case has are one line each, of bounded length."""
    for name, value, max_chars in (("title", title, MAX_TITLE_CHARS), ("enterprise", enterprise, MAX_NAME_CHARS),
                                   ("industry", industry, MAX_CODE_CHARS), ("source", source, MAX_CODE_CHARS)):
        if isinstance(value, str):
            check_text(value.strip(), field=name, label=name, max_chars=max_chars)


def check_user(name: str, roles) -> None:
    check_text(name, field="name", label="user name", max_chars=MAX_USER_CHARS)
    for role in roles:
        if not role.strip():
            raise InvalidInput("role: a role is empty", field="role")
        check_text(role, field="role", label="role", max_chars=MAX_CODE_CHARS)

# Notices (文书; engine/domain/notices.py): a document definition's title, numbering pattern, the case fields
# it takes and its template text are bounded like a workflow's; a rendered notice is bounded too.
MAX_NOTICE_TEMPLATE_CHARS = 20_000
MAX_NOTICE_PATTERN_CHARS = 100
MAX_NOTICE_FIELDS = 50
MAX_NOTICE_KINDS = 100
MAX_NOTICE_TEXT_CHARS = 200_000
