"""Reading report, weights and campaign files: typed, bounded getters that collect every problem with its line.

Each getter records `FILE:LINE: where: what is wrong` and returns a harmless default, so one pass over a
file reports everything at once; `done()` raises DefinitionInvalid when anything was wrong.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from engine.domain.definition import source
from engine.domain.errors import DefinitionInvalid, InvalidInput

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
REGION = re.compile(r"^[0-9]{2}(?:[0-9]{2}){0,2}$")
MAX_TEXT = 500
MAX_ITEMS = 200
MAX_BYTES = 256 * 1024
MAX_DEPTH = 40
FIRST_YEAR, LAST_YEAR = 2000, 2100


def load(text: str, filename: str, kind: str) -> source.Mapping:
    """Parse the YAML of a report file; refuse what no such file needs (huge input, control characters)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise DefinitionInvalid([(filename, 1, f"a {kind} file is at most {MAX_BYTES // 1024} KiB")])
    for number, line in enumerate(text.splitlines(), 1):
        if any(ord(ch) < 32 and ch not in "\t" for ch in line) or "\x7f" in line:
            raise DefinitionInvalid([(filename, number, "control characters are not allowed")])
    _refuse_aliases_and_depth(text, filename)
    try:
        return source.load(text, filename)
    except DefinitionInvalid as exc:
        # the shared loader speaks of workflows; say which kind of file this is
        raise DefinitionInvalid([(f, line, msg.replace("a workflow definition", f"a {kind} file"))
                                 for f, line, msg in exc.problems]) from None


def _refuse_aliases_and_depth(text: str, filename: str) -> None:
    """No file here needs anchors or aliases, and expanding them is how a small file becomes a huge one;
    nothing needs more than a few levels of nesting either. Checked on tokens, before anything is built."""
    import yaml
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                raise DefinitionInvalid([(filename, token.start_mark.line + 1,
                                          "anchors and aliases (&name, *name) are not allowed here")])
            if isinstance(token, (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
                                  yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise DefinitionInvalid([(filename, token.start_mark.line + 1,
                                              f"nested more than {MAX_DEPTH} levels deep")])
            elif isinstance(token, (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)):
                depth -= 1
    except yaml.YAMLError:
        return  # the loader reports the syntax error with its line


class Reader:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[tuple[str, int, str]] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append((self.filename, line, message))

    def done(self) -> None:
        if self.problems:
            raise DefinitionInvalid(sorted(set(self.problems), key=lambda p: (p[1], p[2])))

    # -- shapes -----------------------------------------------------------------------------------------
    def keys(self, node, allowed, where: str, required=()) -> None:
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in node:
                self.problem(node.line, f"{where}: '{key}' is missing")

    def mapping(self, node, key, where: str):
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, source.Mapping):
            self.problem(node.line_of(key), f"{where}: '{key}' must be a mapping")
            return None
        return value

    def sequence(self, node, key, where: str) -> list:
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, source.Sequence):
            self.problem(node.line_of(key), f"{where}: '{key}' must be a list")
            return []
        if len(value) > MAX_ITEMS:
            self.problem(node.line_of(key), f"{where}: '{key}' has {len(value)} items (at most {MAX_ITEMS})")
            return []
        return list(value)

    # -- scalars ----------------------------------------------------------------------------------------
    def text(self, node, key, where: str, *, default: str = "", max_len: int = MAX_TEXT) -> str:
        value = node.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.problem(node.line_of(key), f"{where}: '{key}' must be text")
            return default
        value = str(value)
        if len(value) > max_len:
            self.problem(node.line_of(key), f"{where}: '{key}' is longer than {max_len} characters")
            return default
        return value

    def name(self, node, key, where: str) -> str:
        value = self.text(node, key, where)
        if value and not NAME.match(value):
            self.problem(node.line_of(key), f"{where}: '{value}' must be a name: lower-case letters, digits, '-' "
                                            "or '_', at most 64")
            return ""
        return value

    def choice(self, node, key, where: str, allowed, default: str) -> str:
        value = node.get(key, default)
        if value not in allowed:
            self.problem(node.line_of(key), f"{where}: '{key}' must be one of {', '.join(allowed)}, not {value!r}")
            return default
        return value

    def flag(self, node, key, where: str, default: bool) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.problem(node.line_of(key), f"{where}: '{key}' must be true or false")
            return default
        return value

    def integer(self, node, key, where: str, *, low: int, high: int, default: int) -> int:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(node.line_of(key), f"{where}: '{key}' must be a whole number from {low} to {high}, not {value!r}")
            return default
        return value

    def number(self, node, key, where: str, *, low: Decimal, high: Decimal, places: int = 2,
               default: Decimal | None = None) -> Decimal | None:
        """A decimal number within bounds with at most `places` decimals (weights, thresholds)."""
        value = node.get(key)
        if value is None:
            return default
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise InvalidOperation
            number = Decimal(str(value).strip().rstrip("%"))
            ok = number.is_finite() and low <= number <= high and -number.as_tuple().exponent <= places
        except (InvalidOperation, ValueError):
            ok = False
        if not ok:
            self.problem(node.line_of(key), f"{where}: '{key}' must be a number from {low} to {high} with at most "
                                            f"{places} decimals, not {value!r}")
            return default
        return number

    def day(self, node, key, where: str) -> date | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        else:
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                self.problem(node.line_of(key), f"{where}: '{key}' must be a date YYYY-MM-DD, not {value!r}")
                return None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.problem(node.line_of(key), f"{where}: '{key}' must be between {FIRST_YEAR} and {LAST_YEAR}")
            return None
        return day

    def region(self, node, key, where: str) -> str:
        value = node.get(key)
        if value is None:
            return ""
        text = str(value)
        if isinstance(value, bool) or not REGION.match(text):
            self.problem(node.line_of(key), f"{where}: '{key}' must be a region code (37, 3717, 371721; quote it), "
                                            f"not {value!r}")
            return ""
        from engine.domain.regions import read
        try:
            return read(text)  # a division of the national list, as every region users give
        except InvalidInput as exc:
            self.problem(node.line_of(key), f"{where}: '{key}': {exc.message}")
            return ""

    def texts(self, node, key, where: str) -> tuple[str, ...]:
        """A list of short texts (industries, flags); a single text is a list of one."""
        value = node.get(key)
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_ITEMS:
            self.problem(node.line_of(key), f"{where}: '{key}' has more than {MAX_ITEMS} items")
            return ()
        out = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip() \
                    or len(str(item)) > 100:
                self.problem(node.line_of(key), f"{where}: '{key}' must be a list of short texts, not {item!r}")
                continue
            out.append(str(item).strip())
        return tuple(out)
