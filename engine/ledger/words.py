"""The words ledgers use: header synonyms and value synonyms, shipped in headers.yaml, added to by --mapping.

Both files are read with the definitions' safe loader, so every problem is `FILE:LINE: what is wrong`, all
at once. Entries may be written either way round: `FIELD: [word, ...]` (the shipped file's form) or
`word: FIELD` (handier for a user's few additions); `values:` likewise with the canonical value.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from engine.domain import vocabularies
from engine.domain.definition.source import Mapping, load
from engine.domain.errors import DefinitionInvalid, InvalidInput

SHIPPED = Path(__file__).with_name("headers.yaml")
IGNORE = "ignore"
STAGES = ("reported", "assigned", "rectifying", "verifying", "verified", "closed")
LEVELS = ("general", "major")
CLOSED_VALUES = {"level": LEVELS, "progress": STAGES, "yes_no": ("yes", "no"),
                 "posting_level": ("province", "city", "county", "town"), "handling": ("immediate", "deadline")}
OPEN_VALUES = ("source", "industry")
VALUE_ALIASES = {"state": "progress", "result": "progress"}  # both columns speak in progress words
# Fields whose words are the engine's vocabulary (engine/domain/data/vocabulary.yaml): a ledger reads what `case report`
# reads; headers.yaml and a mapping file may add words (a mapping's win).
VOCABULARY_VALUES = {"level": vocabularies.levels, "source": vocabularies.sources, "industry": vocabularies.industries}
TOP_KEYS = ("headers", "ignore", "values", "immediate", "metadata", "notes", "totals", "found_in_code", "whole_only",
            "enterprise_from")
MAX_MAPPING_BYTES = 256 * 1024
MAX_ENTRIES = 5000
MAX_WORD = 100

_BRACKETED = re.compile(r"[(\[【〔<《][^)\]】〕>》]*[)\]】〕>》]")
_SPACE = re.compile(r"\s+")


def header_key(text: str) -> str:
    """What a header is compared by: half-width, no whitespace, no bracketed unit, no trailing colon."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub("", _BRACKETED.sub("", text)).rstrip(":")
    return text.casefold()


def header_scale(text: str) -> int:
    """A money column headed `资金（万元）` counts in units of 10,000 yuan."""
    units = "".join(_BRACKETED.findall(unicodedata.normalize("NFKC", text)))
    return 10000 if "万" in units else 1


@lru_cache(maxsize=8192)  # a ledger repeats a few words (一般, 整改中, 企业自查) on every row
def value_key(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


@dataclass(frozen=True)
class Words:
    headers: dict          # header key -> field, or IGNORE
    labels: dict           # field -> the header an export writes
    values: dict           # value field ('level', 'progress', 'source', 'industry') -> word key -> canonical
    value_labels: dict     # value field -> canonical -> the word an export writes
    immediate: frozenset   # value keys meaning "at once": the deadline is the found date
    metadata: frozenset    # header keys of `LABEL：value` rows
    notes: tuple           # half-width prefixes that open a notes block
    totals: frozenset = frozenset()  # value keys of a totals row's label (合计, 小计): that row is not data
    found_in_code: bool = False  # a row without a found date takes the YYYYMMDD its hazard code carries
    whole_only: frozenset = frozenset()  # header keys matched only as the whole header (施工), never contained
    enterprise_from: tuple = ()  # fields standing for the enterprise where the sheet has no enterprise column
    mapping_file: str | None = None  # the user's mapping file, when one was given: its name
    mapping_hash: str | None = None  # and its text's SHA-256 (engine.domain.events.text_hash), sealed with an import
    _matches: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)  # header -> match

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def match(self, text: str) -> "HeaderMatch":
        """What a header names (engine/ledger/words.py `match_header`), remembered: a sheet repeats its headers."""
        found = self._matches.get(text)
        if found is None:
            if len(self._matches) > 4096:
                self._matches.clear()
            found = self._matches[text] = match_header(self, text)
        return found


@dataclass(frozen=True)
class HeaderMatch:
    """What a header names: `target` a field, IGNORE, or None (unknown, or ambiguous: `why` says which fields it
    could be); `why` how it was matched (`exact`, `contains 整改期限`, `its bracket lists level words`)."""
    target: str | None
    why: str
    exact: bool = False
    strength: int = 0  # which of two headers naming one field claims it: a bracket, exact, then the longer word

    @property
    def field(self) -> str | None:
        return None if self.target in (None, IGNORE) else self.target


MIN_CONTAINED = 2  # a known word of one character (序) is matched only as the whole header
_LIST_SPLIT = re.compile(r"[、,，/／;；\s]+|或")


def match_header(words: "Words", text: str) -> HeaderMatch:
    """The field a header names. First a bracket listing level words (隐患类别（一般、重大）: the level column,
    whatever its head says); then the whole header (normalised as `header_key`); then the longest known header
    word it contains (整改截止时间 contains 截止时间; 整改责任人姓名 contains 整改责任人, not only 责任人), as
    field-tested importers match. Two fields tied on the longest word is a question, not a guess: no field, and
    `why` names both."""
    key = header_key(text) if text else ""
    if not key:
        return HeaderMatch(None, "no header")
    levels = words.values.get("level", {})
    for inside in _BRACKETED.findall(unicodedata.normalize("NFKC", text)):
        parts = [value_key(p) for p in _LIST_SPLIT.split(inside[1:-1]) if p.strip()]
        if len(parts) >= 2 and all(p in levels for p in parts):  # before the head: 隐患类别 alone is hazard_type
            return HeaderMatch("level", f"its bracket lists level words ({inside[1:-1]})", strength=20_000)
    target = words.headers.get(key)
    if target is not None:
        return HeaderMatch(target, "exact", exact=True, strength=10_000)
    best, fields = 0, {}
    for word, target in _contained_words(words):
        if len(word) < best:
            break
        if word in key:
            best = len(word)
            fields.setdefault(target, word)
    if not fields:
        return HeaderMatch(None, "not a known header")
    if len(fields) > 1:
        said = " or ".join(f"{f} ({w})" for f, w in sorted(fields.items()))
        return HeaderMatch(None, f"ambiguous: it could be {said}; name it in a mapping file")
    (target, word), = fields.items()
    return HeaderMatch(target, f"contains {word}" + (" (not imported)" if target == IGNORE else ""),
                       strength=len(word))


def _contained_words(words: "Words") -> list[tuple[str, str]]:
    """Header words a longer header may contain, longest first (an ignored one too: 责任人联系电话 contains
    联系电话, longer than 责任人); a word of one character (序) only matches whole."""
    cached = words._matches.get("\0contained")
    if cached is None:
        cached = sorted(((w, t) for w, t in words.headers.items()
                         if len(w) >= MIN_CONTAINED and w not in words.whole_only),
                        key=lambda pair: (-len(pair[0]), pair[0]))
        words._matches["\0contained"] = cached
    return cached


def shipped_words() -> Words:
    return _shipped()


@lru_cache(maxsize=1)
def _shipped_part() -> dict:
    return _parse(SHIPPED.read_text(encoding="utf-8"), "headers.yaml", known_fields=None)


@lru_cache(maxsize=1)
def _shipped() -> Words:
    return _build([_shipped_part()])


def load_words(mapping: str | Path | None = None) -> Words:
    """The shipped words, plus a user's mapping file when given (its entries win over the shipped ones)."""
    if mapping is None:
        return shipped_words()
    path = Path(mapping)
    name = str(mapping)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read the mapping file ({exc.strerror or exc})") from None
    if len(data) > MAX_MAPPING_BYTES:
        raise InvalidInput(f"{name}: a mapping file is at most {MAX_MAPPING_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}:1: the mapping file is not UTF-8 text") from None
    shipped = _shipped_part()
    user = _parse(text, name, known_fields=set(shipped["labels"]))
    from dataclasses import replace
    from engine.domain.events import text_hash
    return replace(_build([shipped, user]), mapping_file=path.name, mapping_hash=text_hash(text))


def _problem(problems: list, file: str, line: int, message: str) -> None:
    problems.append((file, line, message))


_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
         yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
MAX_DEPTH = 8  # a mapping file is three levels deep (values: level: {word: value})


def _screen(text: str, file: str) -> None:
    """Refuse what the loader would choke on: aliases it expands without a limit (a few lines can become
    gigabytes) and nesting it follows by recursion; read as tokens, which costs neither."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                raise InvalidInput(f"{file}:{token.start_mark.line + 1}: anchors and aliases (&name, *name) are not "
                                   f"allowed in a mapping file")
            depth += isinstance(token, _OPEN) - isinstance(token, _CLOSE)
            if depth > MAX_DEPTH:
                raise InvalidInput(f"{file}:{token.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
    except yaml.YAMLError:
        pass  # the loader below reports the syntax error with its line


def _parse(text: str, file: str, *, known_fields: set | None) -> dict:
    """One file's entries; `known_fields` None means this is the shipped file, which defines the fields."""
    _screen(text, file)
    try:
        doc = load(text, file)
    except DefinitionInvalid as exc:
        problems = [(f, line, "a mapping file must be a mapping of keys (headers:, values:)"
                     if msg.startswith("a workflow definition must be") else msg) for f, line, msg in exc.problems]
        raise _invalid(problems) from None
    problems: list = []
    out = {"headers": {}, "labels": {}, "values": {}, "value_labels": {}, "immediate": [], "metadata": [], "notes": [],
           "totals": []}
    for key in doc:
        if key not in TOP_KEYS:
            _problem(problems, file, doc.line_of(key), f"unknown key '{key}' (known: {', '.join(TOP_KEYS)})")
    headers = doc.get("headers", Mapping())
    fields = known_fields if known_fields is not None else {str(k) for k in headers} if isinstance(headers, dict) else set()
    count = [0]
    _read_pairs(headers, "headers", file, problems, count, targets=fields | {IGNORE},
                into=out["headers"], labels=out["labels"], key_of=header_key, line=doc.line_of("headers"))
    for word in _word_list(doc, "ignore", file, problems, count):
        out["headers"][header_key(word)] = IGNORE
    values = doc.get("values", Mapping())
    if not isinstance(values, dict):
        _problem(problems, file, doc.line_of("values"), "values: must be a mapping of field: {word: value}")
        values = Mapping()
    for field, table in values.items():
        line = values.line_of(field)
        target = VALUE_ALIASES.get(field, field)
        if target not in CLOSED_VALUES and target not in OPEN_VALUES:
            _problem(problems, file, line, f"values for '{field}' are not read (values are read for "
                                           f"level, state, result, source, industry, yes_no, posting_level, handling)")
            continue
        _read_pairs(table, f"values: {field}", file, problems, count, targets=CLOSED_VALUES.get(target),
                    into=out["values"].setdefault(target, {}), labels=out["value_labels"].setdefault(target, {}),
                    key_of=value_key, line=line)
    out["immediate"] = [value_key(w) for w in _word_list(doc, "immediate", file, problems, count)]
    out["metadata"] = [header_key(w) for w in _word_list(doc, "metadata", file, problems, count)]
    out["notes"] = [unicodedata.normalize("NFKC", w) for w in _word_list(doc, "notes", file, problems, count)]
    out["totals"] = [value_key(w).rstrip(":") for w in _word_list(doc, "totals", file, problems, count)]
    out["whole_only"] = [header_key(w) for w in _word_list(doc, "whole_only", file, problems, count)]
    if "enterprise_from" in doc:
        chosen = _word_list(doc, "enterprise_from", file, problems, count)
        known = known_fields if known_fields is not None else set(out["labels"])
        unknown = [f for f in chosen if f not in known]
        if unknown:
            _problem(problems, file, doc.line_of("enterprise_from"),
                     f"enterprise_from: {', '.join(unknown)} is not a ledger field")
        else:
            out["enterprise_from"] = chosen
    if "found_in_code" in doc:
        flag = doc["found_in_code"]
        if not isinstance(flag, bool):
            _problem(problems, file, doc.line_of("found_in_code"), "found_in_code: must be true or false")
        else:
            out["found_in_code"] = flag
    if count[0] > MAX_ENTRIES:
        _problem(problems, file, doc.line, f"{count[0]} entries: a mapping file has at most {MAX_ENTRIES}")
    if problems:
        raise _invalid(problems)
    return out


def _read_pairs(node, where: str, file: str, problems: list, count: list, *, targets, into: dict, labels: dict,
                key_of, line: int) -> None:
    """`TARGET: [word, ...]` or `word: TARGET`; `targets` None accepts any target (open vocabularies)."""
    if not isinstance(node, dict):
        _problem(problems, file, line, f"{where}: must be a mapping")
        return
    for key, value in node.items():
        line = node.line_of(key)
        if isinstance(value, list):
            target, words = str(key), [(w, value.line_of(i)) for i, w in enumerate(value)]
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            target, words = str(value), [(key, line)]
        else:
            _problem(problems, file, line, f"{where}: '{key}' must map to a name or a list of words")
            continue
        if targets is not None and target not in targets:
            known = ", ".join(sorted(targets))
            _problem(problems, file, line, f"{where}: '{target}' is not one of {known}")
            continue
        if isinstance(value, list) and target != IGNORE:
            labels.setdefault(target, str(words[0][0]) if words else target)
            if where == "headers":
                words.insert(0, (target, line))  # a field's own name is one of its headers
        for word, word_line in words:
            count[0] += 1
            if not isinstance(word, (str, int, float)) or isinstance(word, bool):
                _problem(problems, file, word_line, f"{where}: '{word}' must be a word")
                continue
            text = str(word)
            key_text = key_of(text)
            if not key_text or len(text) > MAX_WORD:
                _problem(problems, file, word_line, f"{where}: '{text[:40]}' must be 1 to {MAX_WORD} characters")
                continue
            earlier = into.get(key_text)
            if earlier is not None and earlier != target:
                _problem(problems, file, word_line, f"{where}: '{text}' is given for both '{earlier}' and '{target}'")
                continue
            into[key_text] = target


def _word_list(doc: Mapping, key: str, file: str, problems: list, count: list) -> list[str]:
    node = doc.get(key, [])
    if not isinstance(node, list):
        _problem(problems, file, doc.line_of(key), f"{key}: must be a list of words")
        return []
    words = []
    for i, word in enumerate(node):
        count[0] += 1
        if isinstance(word, bool) or not isinstance(word, (str, int)) or not str(word).strip() or len(str(word)) > MAX_WORD:
            _problem(problems, file, node.line_of(i), f"{key}: '{word}' must be a word of 1 to {MAX_WORD} characters")
        else:
            words.append(str(word))
    return words


def _invalid(problems: list) -> InvalidInput:
    problems = sorted(problems, key=lambda p: p[1])  # in the order a reader meets them in the file
    error = InvalidInput("\n".join(f"{f}:{line}: {msg}" for f, line, msg in problems))
    error.problems = problems
    return error


def _build(parts: list[dict]) -> Words:
    headers, labels, values, value_labels = {}, {}, {}, {}
    immediate, metadata, notes, totals = set(), set(), [], set()
    found_in_code, whole_only, enterprise_from = False, set(), ()
    for part in parts:  # later parts (the user's) win
        headers.update(part["headers"])
        for field, label in part["labels"].items():
            labels.setdefault(field, label)
        for field, table in part["values"].items():
            values.setdefault(field, {}).update(table)
        for field, table in part["value_labels"].items():
            for canonical, label in table.items():
                value_labels.setdefault(field, {}).setdefault(canonical, label)
        immediate.update(part["immediate"])
        metadata.update(part["metadata"])
        notes.extend(n for n in part["notes"] if n not in notes)
        totals.update(part.get("totals", ()))
        found_in_code = part.get("found_in_code", found_in_code)  # the user's word, when given, wins
        whole_only.update(part.get("whole_only", ()))
        enterprise_from = tuple(part.get("enterprise_from", enterprise_from))
    for field, table in values.items():  # a canonical value is a word for itself (an export by field names)
        for canonical in set(table.values()):
            table.setdefault(value_key(canonical), canonical)
    for field, vocabulary in VOCABULARY_VALUES.items():  # the words `case report` reads, read alike here
        table = values.setdefault(field, {})
        for word, term in vocabulary().lookup.items():
            table.setdefault(value_key(word), term)
    return Words(headers=headers, labels=labels, values=values, value_labels=value_labels,
                 immediate=frozenset(immediate), metadata=frozenset(metadata),
                 notes=tuple(sorted(notes, key=len, reverse=True)), totals=frozenset(totals),
                 found_in_code=found_in_code, whole_only=frozenset(whole_only), enterprise_from=enterprise_from)
