"""Notices (文书): document definitions as data, their numbers, and the text they render. Pure.

A document definition is a small YAML file beside the workflows (workflows/documents/*.yaml):

    document: rectification-order            # the name a transition's `issues:` gives
    title: 责令限期整改指令书
    number: "{office}安监责改〔{year}〕{n}号"    # placeholders: office, year, n (nothing else)
    fields: [responsible_unit, deadline]      # the case fields the text may use
    template: |                               # Jinja2, sandboxed and autoescaped: an HTML fragment
      <p>{{ case.enterprise }}: ...</p>

Every problem is reported as (file, line, message), like a workflow's; sizes are bounded
(engine/domain/limits.py); the template is parsed at load time (a syntax error or a name outside the context
below is refused with its line) and rendered in Jinja2's sandbox, so no template reaches Python attributes.
"""
from __future__ import annotations

from functools import lru_cache

import re
import string
from dataclasses import dataclass
from html.parser import HTMLParser

from engine.domain import limits
from engine.domain.definition import source
from engine.domain.errors import DefinitionInvalid

KEYS = frozenset({"document", "title", "number", "fields", "template"})
PLACEHOLDERS = frozenset({"office", "year", "n"})
# What a template may name: the case (id, title, enterprise, region, industry, level, found_at), the fields it
# declares (`fields.NAME`), and the notice's own number, title, office, year and issue date.
CONTEXT = frozenset({"case", "fields", "number", "title", "office", "year", "issued_on"})
CASE_KEYS = ("id", "title", "enterprise", "region", "industry", "level", "found_at")
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# Who records a notice's service (送达): the offices that issue notices, over the case's region, whatever the
# document; the enterprise signs for it (`signed_by`), it does not serve itself.
SERVE_ROLES = ("supervisor", "committee")


@dataclass(frozen=True)
class DocumentKind:
    name: str
    title: str
    number: str
    fields: tuple[str, ...]
    template: str
    file: str = ""
    line: int = 0


def parse(text: str, filename: str) -> DocumentKind:
    """One document definition; DefinitionInvalid with every problem as FILE:LINE: message."""
    root = source.load(text, filename)
    problems: list[tuple[str, int, str]] = []

    def problem(line: int, message: str) -> None:
        problems.append((filename, line, message))

    for key in root:
        if key not in KEYS:
            problem(root.line_of(key), f"document: unknown key '{key}' (allowed: {', '.join(sorted(KEYS))})")

    def text_of(key: str, limit: int) -> str:
        value = root.get(key)
        if value is None:
            problem(root.line, f"document: '{key}' is missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            problem(root.line_of(key), f"document: '{key}' must be non-empty text")
            return ""
        if len(value) > limit:
            problem(root.line_of(key), f"document: '{key}' is {len(value):,} characters, past the limit of {limit:,}")
            return ""
        return value

    name = text_of("document", limits.MAX_CODE_CHARS)
    if name and not NAME.match(name):
        problem(root.line_of("document"), f"document name '{name}' must be lower-case letters, digits, '-' or '_'")
    title = text_of("title", limits.MAX_TITLE_CHARS)
    number = text_of("number", limits.MAX_NOTICE_PATTERN_CHARS)
    if number:
        for message in pattern_problems(number):
            problem(root.line_of("number"), f"document: number {number!r}: {message}")
    fields = root.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) and NAME.match(f) for f in fields):
        problem(root.line_of("fields"), "document: 'fields' must be a list of field names")
        fields = []
    elif len(fields) > limits.MAX_NOTICE_FIELDS:
        problem(root.line_of("fields"), f"document: {len(fields)} fields is more than the limit of "
                                        f"{limits.MAX_NOTICE_FIELDS}")
    template = text_of("template", limits.MAX_NOTICE_TEMPLATE_CHARS)
    if template:
        # A block scalar's first line is the line after `template: |`.
        first = root.line_of("template") + (1 if template.count("\n") > 0 else 0)
        for offset, message in template_problems(template, frozenset(fields)):
            problem(first + offset - 1, f"document: template: {message}")
    if problems:
        raise DefinitionInvalid(problems)
    return DocumentKind(name=name, title=title, number=number, fields=tuple(fields), template=template,
                        file=filename, line=root.line)


def pattern_problems(pattern: str) -> list[str]:
    """A numbering pattern takes {office}, {year} and {n}, each once, and no other placeholder or format."""
    found: list[str] = []
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        return [f"not a pattern ({exc}); write braces as {{office}}, {{year}}, {{n}}"]
    names = [p[1] for p in parts if p[1] is not None]
    for n in names:
        if n not in PLACEHOLDERS:
            found.append(f"unknown placeholder {{{n}}} (allowed: {{office}}, {{year}}, {{n}})")
    if any(p[2] or p[3] for p in parts if p[1] is not None):
        found.append("placeholders take no format (write {n}, not {n:03d})")
    for n in sorted(PLACEHOLDERS):
        if names.count(n) != 1:
            found.append(f"must hold {{{n}}} exactly once (a number is unique by office, year and sequence)")
    return found


@lru_cache(maxsize=1)
def _environment():
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    return ImmutableSandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


@lru_cache(maxsize=64)
def _compiled(template: str):
    """A document's template compiled once per process: compiling is most of a render (about 2 ms an assign)."""
    return _environment().from_string(template)


def template_problems(template: str, fields: frozenset[str]) -> list[tuple[int, str]]:
    """(line within the template, message) for a syntax error or a name outside CONTEXT."""
    from jinja2 import TemplateSyntaxError, meta
    env = _environment()
    try:
        tree = env.parse(template)
    except TemplateSyntaxError as exc:
        return [(exc.lineno or 1, exc.message or "syntax error")]
    unknown = sorted(meta.find_undeclared_variables(tree) - CONTEXT)
    found = [(1, f"unknown name '{n}' (a template may use {', '.join(sorted(CONTEXT))})") for n in unknown]
    from jinja2 import nodes
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "fields" and node.attr not in fields:
            found.append((node.lineno, f"fields.{node.attr} is not among the document's 'fields'"))
        if isinstance(node.node, nodes.Name) and node.node.name == "case" and node.attr not in CASE_KEYS:
            found.append((node.lineno, f"case.{node.attr} is not known (case has {', '.join(CASE_KEYS)})"))
    return found


def number_of(kind: DocumentKind, *, office: str, year: int, n: int) -> str:
    return kind.number.format(office=office, year=year, n=n)


def render(kind: DocumentKind, *, case: dict, fields: dict, number: str, office: str, year: int,
           issued_on: str) -> str:
    """The notice's text (an HTML fragment; every value escaped), rendered in the sandbox."""
    context = {
        "case": {k: field_text(case.get(k)) for k in CASE_KEYS},
        "fields": {f: field_text(fields.get(f)) for f in kind.fields},
        "number": number, "title": kind.title, "office": office, "year": year, "issued_on": issued_on,
    }
    text = _compiled(kind.template).render(context)
    if len(text) > limits.MAX_NOTICE_TEXT_CHARS:
        raise DefinitionInvalid([(kind.file, kind.line, f"document {kind.name}: the rendered text is {len(text):,} "
                                                        f"characters, past the limit of {limits.MAX_NOTICE_TEXT_CHARS:,}")])
    return text


def field_text(value) -> str:
    """A case's value as a template shows it: nothing for None, a list joined with 、 (also for notifications)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(field_text(v) for v in value)
    return str(value)


def check_set(kinds: list[DocumentKind]) -> list[tuple[str, int, str]]:
    """Names and numbering patterns are unique across the documents installed together."""
    found, names, patterns = [], {}, {}
    if len(kinds) > limits.MAX_NOTICE_KINDS:
        found.append((kinds[0].file, 1, f"{len(kinds)} documents is more than the limit of {limits.MAX_NOTICE_KINDS}"))
    for k in kinds:
        if k.name in names:
            found.append((k.file, k.line, f"document '{k.name}' is defined twice (also in {names[k.name]})"))
        names.setdefault(k.name, k.file)
        if k.number in patterns:
            found.append((k.file, k.line, f"document '{k.name}': number pattern {k.number!r} is also "
                                          f"'{patterns[k.number]}''s; two kinds would share numbers"))
        patterns.setdefault(k.number, k.name)
    return found


class _Text(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "table", "section"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def plain_text(fragment: str) -> str:
    """The notice as a terminal shows it: tags dropped, one line per block, entities decoded."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def seal_problems(stored, sealed: dict) -> list[tuple[str, int, str]]:
    """(case id, seq, problem) for each stored notice whose text no longer hashes to its seal or whose event
    sealed another notice, and each sealed notice no longer stored. `stored`: rows with number, case_id, seq,
    text, sha256; `sealed`: {(case id, seq): the event's `notice` data}."""
    from engine.domain.events import text_hash
    found, seen = [], set()
    for row in stored:
        key = (row.case_id, row.seq)
        seen.add(key)
        seal = sealed.get(key)
        if seal is None or seal.get("number") != row.number:
            found.append((row.case_id, row.seq, f"notice {row.number}: no event of the case sealed it"))
            continue
        if text_hash(row.text) != seal.get("sha256") or row.sha256 != seal.get("sha256"):
            found.append((row.case_id, row.seq, f"notice {row.number}: its stored text does not hash to the "
                                                f"{str(seal.get('sha256'))[:12]} its event sealed (edited)"))
    for (case_id, seq), seal in sorted(sealed.items()):
        if (case_id, seq) not in seen:
            found.append((case_id, seq, f"notice {seal.get('number')}: sealed by the event but no longer stored"))
    return found


PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title} {number}</title>
<style>
@page {{ size: A4; margin: 25mm 20mm; }}
body {{ font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", "Songti SC", "Noto Sans CJK SC",
       "WenQuanYi Micro Hei", serif; font-size: 14pt;
       line-height: 1.8; max-width: 170mm; margin: 0 auto; }}
h1 {{ text-align: center; font-size: 22pt; letter-spacing: 0.2em; font-weight: normal; }}
.number {{ text-align: center; }}
.date {{ text-align: right; margin-top: 2em; }}
.seal {{ float: right; width: 42mm; height: 42mm; border: 1px dashed #999; color: #999; text-align: center;
        line-height: 42mm; font-size: 10pt; margin-top: 1em; }}
.sha {{ clear: both; margin-top: 4em; font-family: monospace; font-size: 8pt; color: #666; word-break: break-all; }}
</style></head>
<body>
{text}
<div class="seal">（印章）</div>
<p class="sha">{case_id} · SHA-256 {sha256}</p>
</body></html>
"""


def to_html(*, title: str, number: str, text: str, case_id: str, sha256: str) -> str:
    """A printable A4 page around the stored text (which is already escaped), with a box where the office's seal goes."""
    from html import escape
    return PAGE.format(title=escape(title), number=escape(number), text=text, case_id=escape(case_id),
                       sha256=escape(sha256))
