"""Rendering pages in Debian's headless Chromium for the browser tests (bulletin, dossier).

`make system-deps` installs chromium and fonts-wqy-microhei (as root; .ci/run calls it). Where either is
missing, `unavailable()` says which and how to install it, and the tests skip with that reason (`need()`);
with HAZARD_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead, so CI cannot lose them quietly.
The browser runs with a fresh profile in a temporary directory, no network services, no sandbox (CI runs
as root), and is killed after two minutes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

INSTALL = "make system-deps (apt-get install chromium chromium-driver fonts-wqy-microhei)"
CJK_FONTS = ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Source Han", "Droid Sans Fallback", "AR PL")
A4_POINTS = (595.0, 842.0)  # 210 x 297 mm at 72 points per inch, rounded as PDF writers give it


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def cjk_font() -> str | None:
    """The family name of an installed Chinese font, via fontconfig; None when there is none."""
    if shutil.which("fc-list") is None:
        return None
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    families = [f.strip() for line in out.splitlines() for f in line.split(",") if f.strip()]
    return next((f for f in families if any(f.startswith(k) for k in CJK_FONTS)), families[0] if families else None)


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if chromium() is None:
        return f"no Chromium installed: {INSTALL}"
    if cjk_font() is None:
        return f"no Chinese font installed: {INSTALL}"
    return None


def need() -> None:
    """Skip the calling test where the browser tests cannot run; fail it instead under HAZARD_REQUIRE_BROWSER=1."""
    import pytest
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("HAZARD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"HAZARD_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _run(args: list[str], page: Path, env: dict | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="hz-chromium-") as profile:
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                        f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120, env=env)


def screenshot(page: Path, png: Path, *, width: int = 1200, height: int = 1800) -> bytes:
    _run([f"--screenshot={png}", f"--window-size={width},{height}", "--hide-scrollbars"], page)
    return png.read_bytes()


def print_pdf(page: Path, pdf: Path, *, without_fonts: bool = False) -> bytes:
    """Print to PDF as the browser's print dialog would; `without_fonts` hides every font (a control run)."""
    env = None
    if without_fonts:
        empty = Path(tempfile.mkdtemp(prefix="hz-nofonts-"))
        (empty / "fonts.conf").write_text(f"<?xml version='1.0'?><fontconfig><dir>{empty}/none</dir>"
                                          f"<cachedir>{empty}/cache</cachedir></fontconfig>", encoding="utf-8")
        env = {**os.environ, "FONTCONFIG_FILE": str(empty / "fonts.conf")}
    _run([f"--print-to-pdf={pdf}", "--no-pdf-header-footer"], page, env)
    if without_fonts:
        shutil.rmtree(empty, ignore_errors=True)
    return pdf.read_bytes()


def _pdf_objects(data: bytes) -> bytes:
    """The PDF's dictionaries, with compressed object streams inflated (Skia may pack fonts' dicts there)."""
    parts = [data]
    for match in re.finditer(rb"/Type\s*/ObjStm.*?stream\r?\n", data, re.S):
        start = match.end()
        end = data.find(b"endstream", start)
        try:
            parts.append(zlib.decompress(data[start:end]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def pdf_page_sizes(data: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of every page's MediaBox."""
    objects = _pdf_objects(data)
    sizes = []
    for match in re.finditer(rb"/Type\s*/Page\b(?!s).*?(?=endobj|/Type\s*/Page\b)", objects, re.S):
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", match.group(0))
        if box:
            x0, y0, x1, y1 = (float(v) for v in box.groups())
            sizes.append((round(x1 - x0, 1), round(y1 - y0, 1)))
    return sizes


def pdf_fonts(data: bytes) -> set[str]:
    """The base font names embedded in a PDF, subset prefixes (ABCDEF+) removed."""
    names = re.findall(rb"/BaseFont\s*/([^\s/\[\]<>()]+)", _pdf_objects(data))
    return {re.sub(r"^[A-Z]{6}\+", "", n.decode("latin-1")) for n in names}


_PROFILE_SCRIPT = """
window.addEventListener('load', () => {
  const out = [];
  for (const img of document.images) {
    const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data, ink = [], red = [];
    for (let y0 = 0; y0 < c.height; y0 += BAND) {
      let i = 0, r = 0;
      for (let y = y0; y < Math.min(y0 + BAND, c.height); y++)
        for (let x = 0; x < c.width; x++) {
          const p = (y * c.width + x) * 4, R = d[p], G = d[p + 1], B = d[p + 2];
          if (R + G + B < 600) i++;
          if (R > 150 && G < 110 && B < 110) r++;
        }
      ink.push(i); red.push(r);
    }
    out.push({width: c.width, height: c.height, ink: ink, red: red});
  }
  document.getElementById('out').textContent = JSON.stringify(out);
});
"""


def ink_profiles(pngs: list[bytes], *, band: int = 40) -> list[dict]:
    """Each picture as Chromium decodes it: width, height, and per band of `band` rows from the top the number
    of pixels with ink (darker than light grey) and of red ones (the bulletin's issuer, rules, late bars)."""
    import base64
    import json
    images = "".join(f'<img src="data:image/png;base64,{base64.b64encode(p).decode()}">' for p in pngs)
    with tempfile.TemporaryDirectory(prefix="hz-profile-") as folder:
        page = Path(folder) / "profile.html"
        page.write_text(f'<!DOCTYPE html><html><body><pre id="out"></pre>{images}<script>'
                        f'{_PROFILE_SCRIPT.replace("BAND", str(band))}</script></body></html>', encoding="utf-8")
        with tempfile.TemporaryDirectory(prefix="hz-chromium-") as profile:
            done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                   "--disable-extensions", f"--user-data-dir={profile}", "--dump-dom",
                                   page.resolve().as_uri()], check=True, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1), "Chromium did not measure the pictures"
    return json.loads(found.group(1))


def unlike(published: bytes, rendered: bytes, *, tolerance: float = 0.1) -> list[str]:
    """How a published picture of a page differs from the page rendered now, at the scale of its blocks:
    its size, and where the ink and the red are, band by band (not glyph by glyph: a browser or font update
    moves pixels, a stale or wrong picture moves blocks). Empty when they agree."""
    a, b = ink_profiles([published, rendered])
    if (a["width"], a["height"]) != (b["width"], b["height"]):
        return [f"size {a['width']}x{a['height']}, rendered now {b['width']}x{b['height']}"]
    problems = []
    for kind in ("ink", "red"):
        total = max(sum(b[kind]), 1)
        moved = sum(abs(x - y) for x, y in zip(a[kind], b[kind])) / total
        if moved > tolerance:
            problems.append(f"{kind}: {moved:.0%} of it is elsewhere than on the page rendered now "
                            f"({sum(a[kind])} pixels against {sum(b[kind])})")
    return problems


def driver_unavailable() -> str | None:
    """Why the pages cannot be driven in the browser here (Selenium on Debian's chromium-driver), or None."""
    found = unavailable()
    if found:
        return found
    if shutil.which("chromedriver") is None:
        return f"no chromedriver installed: {INSTALL}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: make install (the test extra)"
    return None


def driver(*, width: int = 1000, height: int = 1400):
    """A headless Chromium driven by Selenium through Debian's chromedriver, with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _streams(data: bytes) -> list[bytes]:
    """Every stream of the PDF, inflated where it is Flate-compressed."""
    found = []
    for match in re.finditer(rb"stream\r?\n", data):
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            continue
        raw = data[start:end]
        try:
            found.append(zlib.decompress(raw))
        except zlib.error:
            found.append(raw)
    return found


def _cmap(stream: bytes) -> dict[int, str]:
    """A ToUnicode CMap: glyph code -> text (bfchar and bfrange)."""
    codes: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            codes[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for first, last, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            base = bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
            for offset, code in enumerate(range(int(first, 16), int(last, 16) + 1)):
                codes[code] = base[:-1] + chr(ord(base[-1]) + offset)
    return codes


def pdf_texts(data: bytes) -> list[str]:
    """The text a PDF shows, read through each font's ToUnicode map (one reading per map: Chromium writes the
    glyphs of a font as two-byte codes in hex strings, and which map applies is the font the run was set in)."""
    streams = _streams(data)
    maps = [_cmap(s) for s in streams if b"beginbfchar" in s or b"beginbfrange" in s]
    runs = [bytes.fromhex(h.decode()) for s in streams if b"BT" in s
            for h in re.findall(rb"<([0-9A-Fa-f]+)>", s)]
    texts = []
    for codes in maps:
        texts.append("".join(codes.get(int.from_bytes(run[i:i + 2], "big"), "")
                             for run in runs for i in range(0, len(run) - 1, 2)))
    return texts
