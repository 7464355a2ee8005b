"""`quickphrase phrases lint/export/import`, as an agent or shop owner types them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quickphrase.model.artifact import read_model_files, resolve_model_dir
from quickphrase.phrases.formats import FORMATS, QuickPhrase, read_phrases, write_phrases
from quickphrase.phrases.library import BUNDLED_LIBRARY, PROFILE_FILE, PhraseLibrary, read_library
from quickphrase.service.cli import app

LABELS = read_model_files(resolve_model_dir(None)).labels
HEADER = "快捷编码,快捷短语,快捷短语分组"
FILE_NAMES = {"qianniu": "phrases.csv", "qianniu-xlsx": "phrases.xlsx"}  # others: .txt


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def run(runner: CliRunner, monkeypatch):
    monkeypatch.delenv("QUICKPHRASE_PHRASES", raising=False)  # the bundled library

    def invoke(*args: str | Path):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture(scope="module")
def shipped() -> PhraseLibrary:
    library, issues = read_library(BUNDLED_LIBRARY, intents=LABELS)
    assert issues == []
    return library


def exported(library: PhraseLibrary, shop: str | None = None) -> dict[str, str]:
    """Code -> text, variables filled, of what an export should hold."""
    defaults = library.defaults()
    out = {}
    for p in library.phrases:
        text = p.fill(defaults)
        if text is not None and (shop is None or shop in p.shop_types):
            out[p.code] = text
    return out


def csv_codes(path: Path) -> list[str]:
    rows = path.read_bytes().decode("gbk").split("\r\n")
    assert rows[0] == HEADER
    assert rows[-1] == ""  # every row ends with CRLF
    return [row.split(",")[0] for row in rows[1:-1]]


# -- lint --------------------------------------------------------------------------


def test_lint_passes_the_shipped_library(run) -> None:
    result = run("phrases", "lint")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "0 error(s), 0 warning(s)" in result.stderr


def test_lint_fails_a_broken_library_and_prints_file_and_line(run, tmp_path: Path) -> None:
    shutil.copy(BUNDLED_LIBRARY / PROFILE_FILE, tmp_path / PROFILE_FILE)
    text = (BUNDLED_LIBRARY / "pre_sale.yaml").read_text(encoding="utf-8")
    text = text.replace("    code: hy\n", "    code: hy1\n", 1)
    path = tmp_path / "pre_sale.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    code: hy1") + 1
    result = run("phrases", "lint", tmp_path)
    assert result.exit_code == 1
    assert f"{path}:{line}: error: code 'hy1'" in result.stdout
    assert "Traceback" not in result.output
    assert re.search(r"^1 error\(s\)", result.stderr, re.M)


def test_lint_of_a_missing_directory_fails(run, tmp_path: Path) -> None:
    result = run("phrases", "lint", tmp_path / "nope")
    assert result.exit_code == 1
    assert "no such phrase library directory" in result.stdout


# -- export ------------------------------------------------------------------------


def test_export_writes_a_gbk_qianniu_csv_with_every_variable_filled(
    run, tmp_path: Path, shipped: PhraseLibrary
) -> None:
    out = tmp_path / "out.csv"
    result = run("phrases", "export", out)
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(HEADER.encode("gbk") + b"\r\n")  # GBK, no byte-order mark
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert not re.search(r"\{[a-z_][a-z0-9_]*\}", text)
    assert "小满生活馆" in text  # the shop profile's default
    want = exported(shipped)
    assert csv_codes(out) == list(want)
    assert f"wrote {len(want)} phrases to {out} (qianniu)" in result.stderr


def test_export_notes_the_phrases_left_out(run, tmp_path: Path, shipped: PhraseLibrary) -> None:
    out = tmp_path / "out.csv"
    result = run("phrases", "export", out)
    assert result.exit_code == 0, result.output
    left_out = [p for p in shipped.phrases if p.fill(shipped.defaults()) is None]
    assert left_out  # the shipped library has phrases needing a tracking number etc.
    note = next(line for line in result.stderr.splitlines() if "left out" in line)
    assert f"{len(left_out)} phrase(s) need a per-request value" in note
    assert all(p.id in note for p in left_out)
    assert not {p.code for p in left_out} & set(csv_codes(out))


@pytest.mark.parametrize(("shop", "other"), [("tmall", "taobao"), ("taobao", "tmall")])
def test_export_for_one_shop_type_holds_only_its_phrases(
    run, tmp_path: Path, shipped: PhraseLibrary, shop: str, other: str
) -> None:
    out = tmp_path / f"{shop}.csv"
    result = run("phrases", "export", out, "--shop-type", shop)
    assert result.exit_code == 0, result.output
    codes = set(csv_codes(out))
    assert codes == set(exported(shipped, shop))
    only_other = {p.code for p in shipped.phrases if p.shop_types == (other,)}
    assert only_other
    assert not codes & only_other


def test_export_refuses_an_unknown_shop_type(run, tmp_path: Path) -> None:
    result = run("phrases", "export", tmp_path / "out.csv", "--shop-type", "jd")
    assert result.exit_code == 2
    assert "unknown shop type 'jd'" in result.stderr
    assert not (tmp_path / "out.csv").exists()


# -- export, then import -------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_import_gives_back_the_codes_and_texts(
    run, tmp_path: Path, shipped: PhraseLibrary, fmt: str
) -> None:
    source = tmp_path / FILE_NAMES.get(fmt, "phrases.txt")
    result = run("phrases", "export", source, "--format", fmt)
    assert result.exit_code == 0, result.output
    library_dir = tmp_path / "imported"
    library_dir.mkdir()
    out = library_dir / "imported.yaml"
    result = run("phrases", "import", source, "--format", fmt, "--out", out)
    assert result.exit_code == 0, result.output

    imported, issues = read_library(library_dir, intents=LABELS)
    assert [str(i) for i in issues] == []
    got = {p.code: p.text for p in imported.phrases}
    want = exported(shipped)
    if fmt in ("rime", "qq"):  # one line per phrase: line breaks become spaces
        want = {code: " ".join(text.split("\n")) for code, text in want.items()}
    assert any("\n" in t for t in exported(shipped).values())  # the join is exercised
    assert got == want
    if fmt.startswith("qianniu"):  # only 千牛 keeps the groups
        groups = {p.code: p.group for p in shipped.phrases}
        assert {p.code: p.group for p in imported.phrases} == {c: groups[c] for c in got}


def test_import_refuses_to_overwrite_an_existing_file(run, tmp_path: Path) -> None:
    source = tmp_path / "phrases.csv"
    write_phrases([QuickPhrase("hy", "亲,您好")], source, "qianniu")
    out = tmp_path / "mine.yaml"
    out.write_text("phrases: []  # mine\n", encoding="utf-8")
    result = run("phrases", "import", source, "--out", out)
    assert result.exit_code == 2
    assert f"{out} exists" in result.stderr
    assert out.read_text(encoding="utf-8") == "phrases: []  # mine\n"


@pytest.mark.parametrize("command", ["export", "import"])
def test_unknown_format_is_refused(run, tmp_path: Path, command: str) -> None:
    path = tmp_path / "phrases.csv"
    write_phrases([QuickPhrase("hy", "亲,您好")], path, "qianniu")
    args = [path, "--out", tmp_path / "x.yaml"] if command == "import" else [path]
    result = run("phrases", command, *args, "--format", "wubi")
    assert result.exit_code == 2
    assert f"unknown format 'wubi'; use one of {', '.join(FORMATS)}" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.yaml").exists()


@pytest.mark.parametrize("command", ["export", "import"])
def test_a_file_name_that_does_not_say_the_format_needs_format(
    run, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "PhraseEdit.txt"
    if command == "import":
        write_phrases([QuickPhrase("hy", "亲,您好")], path, "sogou")
    args = [path, "--out", tmp_path / "x.yaml"] if command == "import" else [path]
    result = run("phrases", command, *args)
    assert result.exit_code == 2
    assert f"cannot tell the format of {path}; pass --format" in result.stderr
    assert not (tmp_path / "x.yaml").exists()
    if command == "export":
        assert not path.exists()


def test_missing_input_file_is_a_clear_error(run, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    out = tmp_path / "x.yaml"
    result = run("phrases", "import", missing, "--out", out)
    assert result.exit_code == 2
    assert "nope.csv" in result.stderr
    assert "file not found" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_imported_phrases_are_tagged_and_wait_for_review(run, tmp_path: Path) -> None:
    source = tmp_path / "phrases.csv"
    phrases = [QuickPhrase("tk", "亲,签收后7天内可以申请无理由退货哦", "售后")]
    write_phrases(phrases, source, "qianniu")
    out = tmp_path / "imported.yaml"
    result = run("phrases", "import", source, "--out", out)
    assert result.exit_code == 0, result.output
    assert "run 'quickphrase phrases lint'" in result.stderr
    library, issues = read_library(tmp_path, intents=LABELS)
    assert issues == []
    [phrase] = library.phrases
    assert (phrase.code, phrase.text, phrase.group, phrase.tags) == (
        "tk",
        "亲,签收后7天内可以申请无理由退货哦",
        "售后",
        ("imported",),
    )
    assert phrase.intents == ("refund",)  # guessed by the classifier
    assert phrase.stage == "after_sale"
    assert read_phrases(source, "qianniu") == phrases


@pytest.mark.parametrize("fmt", ["sogou", "qq"])
def test_import_of_phrases_sharing_a_code_gives_a_library_that_loads(
    run, tmp_path: Path, fmt: str
) -> None:
    source = tmp_path / "phrases.txt"
    write_phrases([QuickPhrase("hy", "亲,您好"), QuickPhrase("hy", "在的亲")], source, fmt)
    library_dir = tmp_path / "imported"
    library_dir.mkdir()
    result = run("phrases", "import", source, "--format", fmt, "--out", library_dir / "i.yaml")
    assert result.exit_code == 0, result.output
    library, issues = read_library(library_dir, intents=LABELS)
    assert [str(i) for i in issues] == []
    assert sorted(p.text for p in library.phrases) == ["亲,您好", "在的亲"]
