"""The manual the tests keep true: README.md and the pages of docs/ (plain Markdown).

    from tests.manual import MANUAL, section, block, pages
    MANUAL                          # README.md and every docs/*.md, one text
    section("Limits")               # the text under the heading "Limits", in whichever page holds it
    block("## A first session", "sh")   # the first ```sh block after that line, in the page holding it

A heading is found at any level (`# Limits`, `## Limits`); its section runs to the next heading of the same or
a higher level, headings inside fenced blocks (a bulletin's own `## 一、总体情况`) aside.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def pages() -> dict[Path, str]:
    """README.md, then each docs/*.md in name order: path -> text."""
    files = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    return {path: path.read_text(encoding="utf-8") for path in files}


PAGES = pages()
MANUAL = "\n\n".join(PAGES.values())


def headings(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, title) of every Markdown heading outside fenced blocks."""
    found, offset, fenced = [], 0, False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            match = re.match(r"(#{1,6}) (.+?)\s*$", line)
            if match:
                found.append((offset, len(match.group(1)), match.group(2)))
        offset += len(line)
    return found


def page_of(title: str) -> tuple[Path, str]:
    """The page holding the heading `title` (at any level), and its text."""
    hits = [(path, text) for path, text in PAGES.items() if any(t == title for _, _, t in headings(text))]
    assert len(hits) == 1, f"heading {title!r} is in {len(hits)} pages of the manual, not one"
    return hits[0]


def section(title: str) -> str:
    """The text from the heading `title` to the next heading of its level or higher (the page's end else)."""
    _, text = page_of(title)
    marks = headings(text)
    at = next(i for i, (_, _, t) in enumerate(marks) if t == title)
    start, level, _ = marks[at]
    end = next((offset for offset, lv, _ in marks[at + 1:] if lv <= level), len(text))
    return text[start:end]


def block(after: str, language: str) -> str:
    """The first fenced block of `language` after the line `after`, in the page that has that line."""
    for text in PAGES.values():
        found = re.search(re.escape(after) + r".*?```" + language + r"\n(.*?)```", text, re.S)
        if found:
            return found.group(1)
    raise AssertionError(f"no {language} block after {after!r} in the manual")
