"""Printing a page to PDF through the headless Chromium the project installs (`make system-deps`).

A face-side helper (the engine renders HTML; turning it into PDF is the printer's business): the page is written
to a temporary folder and printed with `chromium --headless --print-to-pdf`, a fresh profile, no network
services, no header or footer, and a two-minute limit. The page's own `@page` rule sets the paper (A4).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.domain.errors import WriteFailed

INSTALL = "install Chromium and a Chinese font (make system-deps: apt-get install chromium fonts-wqy-microhei)"
TIMEOUT_SECONDS = 120


def browser() -> str | None:
    """The Chromium to print with: HAZARD_CHROMIUM, else chromium, chromium-browser or google-chrome on PATH."""
    named = os.environ.get("HAZARD_CHROMIUM")
    if named:
        return shutil.which(named) or (named if os.path.isfile(named) else None)
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def html_to_pdf(html: str, *, target: str) -> bytes:
    """The PDF Chromium prints of `html`; WriteFailed (exit 8), naming `target`, when it cannot."""
    program = browser()
    if program is None:
        raise WriteFailed(f"{target}: no Chromium to print the PDF with; {INSTALL}, or print the HTML "
                          "(--format html) from a browser", path=target, rule="pdf")
    with tempfile.TemporaryDirectory(prefix="hz-print-") as folder:
        page, pdf, profile = Path(folder) / "page.html", Path(folder) / "page.pdf", Path(folder) / "profile"
        page.write_text(html, encoding="utf-8")
        args = [program, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()]
        try:
            subprocess.run(args, check=True, capture_output=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise WriteFailed(f"{target}: Chromium did not print the PDF within {TIMEOUT_SECONDS} seconds",
                              path=target, rule="pdf") from None
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            last = detail.decode("utf-8", "replace").strip().splitlines()[-1:] if detail else [str(exc)]
            raise WriteFailed(f"{target}: Chromium could not print the PDF ({' '.join(last)[:200]})",
                              path=target, rule="pdf") from None
        if not pdf.is_file() or not pdf.read_bytes().startswith(b"%PDF"):
            raise WriteFailed(f"{target}: Chromium printed no PDF", path=target, rule="pdf")
        return pdf.read_bytes()
