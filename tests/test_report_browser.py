"""The sample bulletin in a real headless Chromium: A4 pages, Chinese glyphs from a CJK font, a page not blank.

Skipped, with the reason, where Chromium or a Chinese font is missing (`make system-deps` installs both); failed
instead under HAZARD_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import pytest

import browser
from engine.reports import bulletin
from report_sample import sample_document

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
