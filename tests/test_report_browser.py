"""The sample bulletin in a real headless Chromium: A4 pages, Chinese glyphs from a CJK font, a page not blank.

Skipped, with the reason, where Chromium or a Chinese font is missing (`make system-deps` installs both); failed
instead under HAZARD_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import pytest

import browser
from engine.reports import bulletin
from report_sample import DOCS, sample_document

@pytest.fixture(autouse=True)
def _chromium():
    browser.need()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("bulletin") / "bulletin.html"
    path.write_text(bulletin.to_html_text(sample_document()), encoding="utf-8")
    return path


def test_the_bulletin_prints_on_a4_pages_with_a_chinese_font(page, tmp_path):
    """Printed to PDF, every page is A4 (595 x 842 pt) and the text is set in an embedded CJK font."""
    pdf = browser.print_pdf(page, tmp_path / "bulletin.pdf")
    sizes = browser.pdf_page_sizes(pdf)
    assert len(sizes) >= 2
    assert all(abs(w - browser.A4_POINTS[0]) < 1.5 and abs(h - browser.A4_POINTS[1]) < 1.5 for w, h in sizes), sizes
    fonts = browser.pdf_fonts(pdf)
    assert any(any(name.replace(" ", "") in font for name in ("WenQuanYi", "NotoSansCJK", "SourceHan"))
               for font in fonts), fonts


def test_without_fonts_the_same_check_fails(page, tmp_path):
    """Control: with every font hidden from the browser no CJK font is embedded, so the check above means something."""
    pdf = browser.print_pdf(page, tmp_path / "nofonts.pdf", without_fonts=True)
    assert not any("WenQuanYi" in f or "CJK" in f for f in browser.pdf_fonts(pdf))


def test_the_screenshot_is_a_drawn_page(page, tmp_path):
    """The screenshot has the window's size and carries far more drawing than a blank page of that size."""
    shot = browser.screenshot(page, tmp_path / "bulletin.png", width=900, height=1600)
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    blank = browser.screenshot(blank_page, tmp_path / "blank.png", width=900, height=1600)
    assert browser.png_size(shot) == (900, 1600)
    assert len(shot) > 20 * len(blank), (len(shot), len(blank))


def test_the_published_picture_is_this_page_rendered_now(page, tmp_path):
    """docs/bulletin-example.png (the picture the docs show) is the sample bulletin as the browser draws it today,
    at the size tests/report_sample.py takes it: the same size, with ink and red where the page puts them.
    It once showed the page's HTML source as plain text (the page was saved as .html.tmp), and the only check
    was that the file was over 100 KB."""
    now = browser.screenshot(page, tmp_path / "now.png", width=900, height=2400)
    assert browser.unlike((DOCS / "bulletin-example.png").read_bytes(), now) == []


def test_a_picture_of_the_pages_source_is_told_apart(page, tmp_path):
    """Control: the same page drawn as plain text (what the .html.tmp name did) is unlike the page."""
    source = tmp_path / "bulletin.txt"
    source.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    as_text = browser.screenshot(source, tmp_path / "source.png", width=900, height=2400)
    now = browser.screenshot(page, tmp_path / "now.png", width=900, height=2400)
    assert browser.unlike(as_text, now) != []
