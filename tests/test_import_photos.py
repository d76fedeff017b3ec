"""`hazard import --photos PATH` (issue 20): a folder or zip of photos named by the rows' 隐患编号, as real systems'
import templates ask (`隐患编码-流水号.jpg`), attached to the cases the import writes; checked before anything
is written, and every photo left out said so, with why."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from engine.ledger import photos as matching
from tests.conftest import cli_on

NOW = "2026-04-01T09:00"
HEADER = "隐患编号,企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源,整改措施,责任人,整改期限,隐患状态,整改完成日期"
ROWS = ["YH-2026-001,某化工有限公司,液氨储罐区未设泄漏报警,2026-01-05,重大,危化,执法检查,加装报警,王五,2026-06-30,整改中,",
        "YH-2026-0011,某机械厂,配电箱未接地,2026/2/3,一般,工贸,企业自查,重新接地,孙强,2026-02-10,已整改,2026-02-09",
        "YH-2026-003,某木业有限公司,除尘系统未设锁气卸灰装置,2026-02-20,一般,工贸,企业自查,加装卸灰阀,李四,2026-03-20,整改中,"]

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def hz(runner, seeded_url):
    return cli_on(runner, seeded_url, actor="zhang", now=NOW)


@pytest.fixture
def png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def sheet(tmp_path, *rows: str, name="台账.csv") -> Path:
    path = tmp_path / name
    path.write_bytes("\n".join(["某县隐患排查治理台账", HEADER, *rows]).encode("utf-8-sig"))
    return path


def folder(tmp_path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "照片"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def run(hz, *args) -> tuple[int, dict | None, str]:
    result = hz("--json", "import", *args, "--set", "region=371721")
    return result.exit_code, (json.loads(result.stdout) if result.stdout.strip() else None), result.stderr


def evidence_of(hz, case_id: str) -> list[tuple[str, str]]:
    history = json.loads(hz("--json", "case", "history", case_id).stdout)
    return [(f["name"], f["kind"]) for e in history if e["trigger"] == "attach" for f in e["data"]["files"]]


def test_photos_named_by_code_are_attached_to_their_rows_cases_and_the_rest_are_listed(hz, tmp_path, png):
    """The longest code a name starts wins (YH-2026-0011 is not YH-2026-001's); a word after the code says the
    kind; letter case and the separator do not matter; a name no code starts is listed, not attached."""
    photos = folder(tmp_path, {"YH-2026-001-1.png": png, "YH-2026-001-整改-2.png": png, "yh-2026-0011_1.png": png,
                               "子目录/YH-2026-003.png": png, "ZZ-9-1.png": png, ".DS_Store": b"x"})
    code, doc, err = run(hz, sheet(tmp_path, *ROWS), "--photos", photos)
    assert code == 0, err
    found = doc["photos"]
    assert (found["files"], found["attached"], found["rows"]) == (5, 4, 3)
    assert found["unmatched"] == ["ZZ-9-1.png"] and found["held"] == [] and found["ambiguous"] == []
    assert "photo ZZ-9-1.png: no row's 隐患编号 starts its name; not attached" in err
    cases = {c["ledger_id"]: c["id"] for c in json.loads(hz("--json", "case", "list").stdout)}
    assert sorted(evidence_of(hz, cases["YH-2026-001"])) == [("YH-2026-001-1.png", "found"),
                                                             ("YH-2026-001-整改-2.png", "rectified")]
    assert evidence_of(hz, cases["YH-2026-0011"]) == [("yh-2026-0011_1.png", "found")]
    assert evidence_of(hz, cases["YH-2026-003"]) == [("YH-2026-003.png", "found")]
    # Sealed like any attach: the store holds the bytes, and the audit checks them.
    verify = hz("audit", "verify", actor="li")
    assert verify.exit_code == 0, verify.output


def test_a_zip_made_on_chinese_windows_names_its_photos_in_gbk(hz, tmp_path, png):
    """Archivers on Chinese Windows write member names in GBK without the UTF-8 flag; they are read as meant."""
    name = "YH-2026-003-整改后.png"
    placeholder = "P" * len(name.encode("gbk"))  # ASCII: no UTF-8 flag; then swapped for the GBK bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(placeholder, png)
    data = buffer.getvalue().replace(placeholder.encode(), name.encode("gbk"))
    (tmp_path / "photos.zip").write_bytes(data)
    code, doc, err = run(hz, sheet(tmp_path, *ROWS), "--photos", tmp_path / "photos.zip")
    assert code == 0, err
    assert (doc["photos"]["attached"], doc["photos"]["unmatched"]) == (1, [])
    cases = {c["ledger_id"]: c["id"] for c in json.loads(hz("--json", "case", "list").stdout)}
    assert evidence_of(hz, cases["YH-2026-003"]) == [(name, "rectified")]


def test_a_dry_run_says_what_it_would_attach_and_stores_nothing(hz, tmp_path, png, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setenv("HAZARD_FILES", str(store))
    photos = folder(tmp_path, {"YH-2026-001-1.png": png, "other.png": png})
    code, doc, err = run(hz, sheet(tmp_path, *ROWS), "--photos", photos, "--dry-run")
    assert code == 0, err
    assert (doc["photos"]["attached"], doc["photos"]["rows"], doc["photos"]["unmatched"]) == (1, 1, ["other.png"])
    assert "would attach 1 of 2 photo(s) to 1 case(s)" in err
    assert not store.exists() and json.loads(hz("--json", "case", "list").stdout) == []


@pytest.mark.parametrize("bad,expected", [
    ("YH-2026-001-1.jpg", "the name says image/jpeg but the bytes are image/png"),
    ("YH-2026-001-2.png", "not an accepted type"),
])
def test_a_bad_photo_refuses_the_import_and_writes_nothing(hz, tmp_path, png, bad, expected, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setenv("HAZARD_FILES", str(store))
    data = png if bad.endswith(".jpg") else b"plain text, not a photo"
    photos = folder(tmp_path, {"YH-2026-003-1.png": png, bad: data})
    code, _, err = run(hz, sheet(tmp_path, *ROWS), "--photos", photos)
    assert code == 2 and expected in err and bad in err and "nothing was written" in err, err
    assert json.loads(hz("--json", "case", "list").stdout) == [] and not store.exists()


def test_a_zip_bomb_among_the_photos_is_refused(hz, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("YH-2026-001-1.jpg", b"\xff\xd8\xff" + bytes(8 << 20))  # 8 MB of zeros, a few KB zipped
    (tmp_path / "bomb.zip").write_bytes(buffer.getvalue())
    code, _, err = run(hz, sheet(tmp_path, *ROWS), "--photos", tmp_path / "bomb.zip")
    assert code == 2 and "zip bomb" in err, err
    assert json.loads(hz("--json", "case", "list").stdout) == []


def test_photos_of_rows_held_already_are_listed_with_their_case_not_attached_again(hz, tmp_path, png):
    code, _, err = run(hz, sheet(tmp_path, *ROWS[:1]))
    assert code == 0, err
    held = json.loads(hz("--json", "case", "list").stdout)[0]["id"]
    photos = folder(tmp_path, {"YH-2026-001-1.png": png, "YH-2026-003-1.png": png})
    code, doc, err = run(hz, sheet(tmp_path, *ROWS, name="台账（补充）.csv"), "--photos", photos)
    assert code == 0, err
    assert doc["photos"]["held"] == [{"name": "YH-2026-001-1.png", "case_id": held}]
    assert doc["photos"]["attached"] == 1 and evidence_of(hz, held) == []
    assert f"its row is held already as {held}" in err


def test_a_missing_photo_folder_is_named(hz, tmp_path):
    code, _, err = run(hz, sheet(tmp_path, *ROWS), "--photos", tmp_path / "nowhere")
    assert code == 5 and "nowhere" in err and "Traceback" not in err, err
    assert json.loads(hz("--json", "case", "list").stdout) == []


CODE = st.text(alphabet="AB-_0123456789隐患", min_size=1, max_size=8).map(matching.normalise).filter(bool)


@given(codes=st.sets(CODE, min_size=1, max_size=6), names=st.lists(st.text(max_size=20), max_size=10))
def test_every_name_goes_to_the_longest_code_it_starts_or_is_listed(codes, names):
    """Each file once: matched to a code its name starts with (no longer code also does), or unmatched."""
    files = [(f"{n}.png", n) for n in names]
    found = matching.match(files, codes)
    placed = [p.name for photos in found.by_code.values() for p in photos] + found.unmatched
    assert sorted(placed) == sorted(name for name, _ in files)
    for code, photos in found.by_code.items():
        for photo in photos:
            stem = matching.normalise(photo.name[:-4])
            assert stem.startswith(code)
            assert not [c for c in codes if len(c) > len(code) and stem.startswith(c)
                        and (len(stem) == len(c) or stem[len(c)] in "-_－ ")]
