"""Quick-phrase files: what each agent tool's import and export format holds."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from quickphrase.phrases.formats import (
    FORMATS,
    FormatError,
    QuickPhrase,
    guess_format,
    read_phrases,
    write_phrases,
)

# Texts every format must keep: commas (ASCII and full-width), quotes,
# traditional characters, "=" and ";" that look like syntax, plain ASCII.
SINGLE_LINE = [
    QuickPhrase("kd", "亲，我们默认发中通,不指定快递哦"),
    QuickPhrase("kd", '满"99"包邮, 偏远地区除外'),
    QuickPhrase("ft", "親，這款有貨，當天發出"),
    QuickPhrase("hi", "Hello, thanks for waiting!"),
    QuickPhrase("eq", "a=b, c;d & e"),
]
MULTI_LINE = [QuickPhrase("th", "感谢您的耐心等待\n有问题随时联系客服\n祝您生活愉快")]
GROUPED = [
    QuickPhrase("kd", "亲，发中通,不指定快递", group="物流"),
    QuickPhrase("tk", "七天无理由退货\n运费险已赠送", group="售后, 退换"),
    QuickPhrase("q", '"正品"保证，假一赔十', group=""),
]


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- choosing a format -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("快捷短语.csv", "qianniu"),
        ("EXPORT.CSV", "qianniu"),
        ("短语.xlsx", "qianniu-xlsx"),
        ("PhraseEdit.txt", None),
        ("custom_phrase", None),
    ],
)
def test_guess_format_goes_by_extension(name: str, expected: str | None) -> None:
    assert guess_format(name) == expected
    assert guess_format(Path("/tmp") / name) == expected


def test_formats_lists_every_supported_format() -> None:
    assert FORMATS == ("qianniu", "qianniu-xlsx", "sogou", "rime", "qq")


# -- round trips -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["qianniu", "qianniu-xlsx"])
def test_qianniu_round_trip_keeps_groups_commas_quotes_and_line_breaks(
    tmp_path: Path, fmt: str
) -> None:
    phrases = [*GROUPED, *SINGLE_LINE, *MULTI_LINE]
    path = tmp_path / "phrases.out"
    assert write_phrases(phrases, path, fmt) == []
    assert read_phrases(path, fmt) == phrases


def test_sogou_round_trip_keeps_commas_quotes_and_line_breaks(tmp_path: Path) -> None:
    phrases = [*SINGLE_LINE, *MULTI_LINE, QuickPhrase("end", "最后一条\n\n隔一个空行")]
    path = tmp_path / "PhraseEdit.txt"
    assert write_phrases(phrases, path, "sogou") == []
    assert read_phrases(path, "sogou") == phrases


@pytest.mark.parametrize("fmt", ["rime", "qq"])
def test_single_line_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "phrases.txt"
    assert write_phrases(SINGLE_LINE, path, fmt) == []
    assert read_phrases(path, fmt) == SINGLE_LINE


@pytest.mark.parametrize("fmt", ["sogou", "rime", "qq"])
def test_input_method_formats_drop_the_group(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "phrases.txt"
    write_phrases([QuickPhrase("kd", "发中通", group="物流")], path, fmt)
    assert read_phrases(path, fmt) == [QuickPhrase("kd", "发中通")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_list_round_trips(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "empty"
    write_phrases([], path, fmt)
    assert read_phrases(path, fmt) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_accepts_any_iterable_and_a_string_path(tmp_path: Path, fmt: str) -> None:
    path = str(tmp_path / "gen")
    write_phrases((p for p in SINGLE_LINE[:1]), path, fmt)
    assert read_phrases(path, fmt) == SINGLE_LINE[:1]


# -- 千牛 CSV ----------------------------------------------------------------


def test_qianniu_csv_escapes_commas_and_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "快捷短语.csv"
    write_phrases([QuickPhrase("kd", "亲,发中通\n不指定快递", group="物流,售后")], path, "qianniu")
    expected = "快捷编码,快捷短语,快捷短语分组\r\nkd,亲&#44;发中通&#13;不指定快递,物流&#44;售后\r\n"
    assert path.read_bytes() == expected.encode("gbk")


def test_qianniu_csv_is_gbk_with_the_exact_header_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "快捷短语.csv"
    write_phrases([QuickPhrase("ft", "親，當天發出")], path, "qianniu")
    raw = path.read_bytes()
    assert raw.startswith("快捷编码,快捷短语,快捷短语分组\r\n".encode("gbk"))
    assert not raw.startswith(codecs.BOM_UTF8)
    assert raw.count(b"\r\n") == raw.count(b"\n") == 2
    assert raw.decode("gbk").endswith("ft,親，當天發出,\r\n")


def test_qianniu_csv_escapes_only_a_leading_double_quote(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    write_phrases([QuickPhrase("q", '"正品"保证')], path, "qianniu")
    assert path.read_bytes().decode("gbk").splitlines()[1] == 'q,&#34;正品"保证,'


def test_qianniu_csv_refuses_emoji_in_gbk_and_suggests_utf8(tmp_path: Path) -> None:
    path = tmp_path / "emoji.csv"
    phrases = [QuickPhrase("hi", "亲在的"), QuickPhrase("xx", "谢谢亲😊")]
    with pytest.raises(FormatError) as excinfo:
        write_phrases(phrases, path, "qianniu")
    error = excinfo.value
    assert error.path == str(path)
    assert error.line == 3  # header, "hi", then "xx"
    assert "'xx'" in error.reason
    assert 'encoding="utf-8"' in error.reason
    assert not path.exists()  # nothing half-written


def test_qianniu_csv_utf8_is_written_with_a_bom_for_excel(tmp_path: Path) -> None:
    path = tmp_path / "emoji.csv"
    phrases = [QuickPhrase("xx", "谢谢亲😊")]
    write_phrases(phrases, path, "qianniu", encoding="utf-8")
    assert path.read_bytes().startswith(codecs.BOM_UTF8 + "快捷编码".encode())
    assert read_phrases(path, "qianniu") == phrases


def test_qianniu_csv_reads_a_hand_written_utf8_file_with_bom(tmp_path: Path) -> None:
    text = (
        "\ufeff快捷编码,快捷短语,快捷短语分组\r\n"
        "kd,亲&#44;发中通&#13;&#10;不指定快递,物流\r\n"
        "gz,尺码表&#10;见详情页,\r\n"
        '"th","感谢,耐心等待\r\n祝您愉快","售后"\r\n'  # quoted by Excel
        '"q","""正品""保证"\r\n'
        "\r\n"  # blank lines are skipped
        "ft,親，當天發出\r\n"  # the group column may be missing
    )
    path = _write(tmp_path / "hand.csv", text, "utf-8")
    assert read_phrases(path, "qianniu") == [
        QuickPhrase("kd", "亲,发中通\n不指定快递", "物流"),
        QuickPhrase("gz", "尺码表\n见详情页"),
        QuickPhrase("th", "感谢,耐心等待\n祝您愉快", "售后"),
        QuickPhrase("q", '"正品"保证'),
        QuickPhrase("ft", "親，當天發出"),
    ]


def test_qianniu_csv_reads_a_gbk_file(tmp_path: Path) -> None:
    text = "快捷编码,快捷短语,快捷短语分组\r\nkd,亲，默认中通&#44;不指定,物流\r\n"
    path = _write(tmp_path / "gbk.csv", text, "gbk")
    assert read_phrases(path, "qianniu") == [QuickPhrase("kd", "亲，默认中通,不指定", "物流")]


def test_qianniu_csv_reads_an_explicit_encoding(tmp_path: Path) -> None:
    # UTF-16 without a BOM cannot be detected, only named.
    text = "快捷编码,快捷短语,快捷短语分组\nft,親愛的,\n"
    path = _write(tmp_path / "utf16.csv", text, "utf-16-le")
    assert read_phrases(path, "qianniu", encoding="utf-16-le") == [QuickPhrase("ft", "親愛的")]


def test_qianniu_csv_without_header_names_line_1(tmp_path: Path) -> None:
    path = _write(tmp_path / "no-header.csv", "kd,亲发中通,物流\n", "utf-8")
    with pytest.raises(FormatError, match=r"no-header\.csv, line 1: expected the header"):
        read_phrases(path, "qianniu")


def test_qianniu_csv_with_a_wrong_header_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "wrong.csv", "\n编码,短语,分组\nkd,亲,\n", "utf-8")
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "qianniu")
    assert excinfo.value.line == 2
    assert "快捷编码,快捷短语,快捷短语分组" in excinfo.value.reason


def test_qianniu_csv_empty_file_has_no_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.csv", "", "utf-8")
    with pytest.raises(FormatError, match="header"):
        read_phrases(path, "qianniu")


def test_qianniu_csv_row_with_one_column_names_its_line(tmp_path: Path) -> None:
    text = "快捷编码,快捷短语,快捷短语分组\nkd,亲,\nonlycode\n"
    path = _write(tmp_path / "short.csv", text, "utf-8")
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "qianniu")
    assert excinfo.value.line == 3


def test_qianniu_csv_row_after_a_multi_line_quoted_field_names_its_own_line(
    tmp_path: Path,
) -> None:
    text = '快捷编码,快捷短语,快捷短语分组\n"kd","一\n二",\n,没有编码,\n'
    path = _write(tmp_path / "span.csv", text, "utf-8")
    with pytest.raises(FormatError, match="line 4: empty code"):
        read_phrases(path, "qianniu")


def test_qianniu_csv_empty_text_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "blank.csv", "快捷编码,快捷短语,快捷短语分组\nkd, ,物流\n", "utf-8")
    with pytest.raises(FormatError, match=r"line 2: empty text for code 'kd'"):
        read_phrases(path, "qianniu")


def test_qianniu_csv_undecodable_bytes_name_their_line(tmp_path: Path) -> None:
    raw = "快捷编码,快捷短语,快捷短语分组\r\nkd,亲,\r\n".encode("gbk") + b"bad,\x81\x20,\r\n"
    path = tmp_path / "broken.csv"
    path.write_bytes(raw)
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "qianniu")
    assert excinfo.value.line == 3
    assert "cannot be decoded" in excinfo.value.reason


# -- 千牛 Excel --------------------------------------------------------------


def test_qianniu_xlsx_keeps_line_breaks_as_real_newlines_in_cells(tmp_path: Path) -> None:
    path = tmp_path / "快捷短语.xlsx"
    write_phrases([QuickPhrase("th", "感谢等待\n祝您愉快", "售后")], path, "qianniu-xlsx")
    sheet = load_workbook(path).worksheets[0]
    assert [cell.value for cell in sheet[1]] == ["快捷编码", "快捷短语", "快捷短语分组"]
    assert [cell.value for cell in sheet[2]] == ["th", "感谢等待\n祝您愉快", "售后"]


def test_qianniu_xlsx_writes_a_leading_equals_sign_as_text_not_a_formula(
    tmp_path: Path,
) -> None:
    path = tmp_path / "formula.xlsx"
    phrases = [QuickPhrase("eq", "=SUM(A1:A3) 不是公式")]
    write_phrases(phrases, path, "qianniu-xlsx")
    assert load_workbook(path).worksheets[0]["B2"].data_type == "s"
    assert read_phrases(path, "qianniu-xlsx") == phrases


def _workbook(path: Path, *rows: tuple[object, ...]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_qianniu_xlsx_reads_numeric_codes_that_excel_converted(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "excel.xlsx",
        ("快捷编码", "快捷短语", "快捷短语分组"),
        (123, "亲，在的", None),
        (4.0, "稍等\r\n马上查", "售后"),
    )
    assert read_phrases(path, "qianniu-xlsx") == [
        QuickPhrase("123", "亲，在的"),
        QuickPhrase("4", "稍等\n马上查", "售后"),
    ]


def test_qianniu_xlsx_with_a_wrong_header_names_its_row(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "wrong.xlsx", ("编码", "短语"), ("kd", "亲"))
    with pytest.raises(FormatError, match=r"line 1: expected the header"):
        read_phrases(path, "qianniu-xlsx")


def test_qianniu_xlsx_row_without_text_names_its_row(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "short.xlsx", ("快捷编码", "快捷短语", "快捷短语分组"), ("kd", "亲"), ("gz",)
    )
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "qianniu-xlsx")
    assert excinfo.value.line == 3


def test_qianniu_xlsx_refuses_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = _write(tmp_path / "fake.xlsx", "快捷编码,快捷短语\n", "utf-8")
    with pytest.raises(FormatError, match=r"not a readable \.xlsx"):
        read_phrases(path, "qianniu-xlsx")


# -- 搜狗 --------------------------------------------------------------------


def test_sogou_is_utf16le_with_bom_crlf_and_a_comment_header(tmp_path: Path) -> None:
    path = tmp_path / "PhraseEdit.txt"
    write_phrases([QuickPhrase("kd", "亲，发中通")], path, "sogou")
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)
    text = raw[2:].decode("utf-16-le")
    assert text.endswith("\r\nkd,1=亲，发中通\r\n")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0].startswith(";")
    assert "quickphrase" in lines[0]


def test_sogou_numbers_phrases_sharing_a_code_and_writes_multi_line_after_the_entry(
    tmp_path: Path,
) -> None:
    phrases = [
        QuickPhrase("kd", "默认中通"),
        QuickPhrase("th", "感谢等待\n祝您愉快"),
        QuickPhrase("kd", "可改顺丰"),
    ]
    path = tmp_path / "PhraseEdit.txt"
    write_phrases(phrases, path, "sogou")
    entries = [
        line
        for line in path.read_bytes().decode("utf-16").split("\r\n")
        if line and not line.startswith(";")
    ]
    assert entries == ["kd,1=默认中通", "th,1=", "感谢等待", "祝您愉快", "kd,2=可改顺丰"]


def test_sogou_refuses_codes_that_are_not_letters(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="letters only"):
        write_phrases([QuickPhrase("kd1", "亲")], tmp_path / "p.txt", "sogou")


def test_sogou_refuses_more_than_nine_phrases_on_one_code(tmp_path: Path) -> None:
    phrases = [QuickPhrase("kd", f"第{n}条") for n in range(10)]
    with pytest.raises(FormatError, match="more than 9 phrases share code 'kd'"):
        write_phrases(phrases, tmp_path / "p.txt", "sogou")


def test_sogou_refuses_a_line_that_would_read_back_as_an_entry(tmp_path: Path) -> None:
    phrases = [QuickPhrase("th", "第一行\nkd,1=第二行")]
    with pytest.raises(FormatError, match="'th'"):
        write_phrases(phrases, tmp_path / "p.txt", "sogou")


def test_sogou_notes_phrases_that_it_would_run_as_time_expressions(tmp_path: Path) -> None:
    notes = write_phrases([QuickPhrase("tag", "#包邮#")], tmp_path / "p.txt", "sogou")
    assert notes == ["1 phrase had a leading '#', which 搜狗 runs as a date/time expression"]


def test_sogou_reads_utf8_with_comments_blank_lines_and_multi_line_entries(
    tmp_path: Path,
) -> None:
    text = (
        ";  搜狗输入法--自定义短语配置文件\n"
        "\n"
        "kd,1=亲，发中通\n"
        "th,2=\n"
        "感谢等待\n"
        "\n"
        "祝您愉快\n"
        "\n"
        "; a comment between entries\n"
        "ss,1=#$year年$month月$day日\n"
    )
    path = _write(tmp_path / "PhraseEdit.txt", text, "utf-8")
    assert read_phrases(path, "sogou") == [
        QuickPhrase("kd", "亲，发中通"),
        QuickPhrase("th", "感谢等待\n\n祝您愉快"),
        QuickPhrase("ss", "#$year年$month月$day日"),
    ]


def test_sogou_reads_utf16_big_endian_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "PhraseEdit.txt"
    path.write_bytes(codecs.BOM_UTF16_BE + "kd,1=亲\r\n".encode("utf-16-be"))
    assert read_phrases(path, "sogou") == [QuickPhrase("kd", "亲")]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("kd亲发中通", "no '='"),
        ("kd=亲发中通", "no ',position'"),
        ("kd,x=亲", "bad position 'x'"),
        ("kd,0=亲", "bad position '0'"),
        ("kd,10=亲", "bad position '10'"),
        ("k d,1=亲", "bad code"),
        ("kd,1=", "empty text"),
    ],
)
def test_sogou_malformed_line_names_its_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path / "bad.txt", f"; header\nok,1=好的\n{line}\nzz,1=再见\n", "utf-16")
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "sogou")
    assert excinfo.value.line == 3
    assert reason in excinfo.value.reason
    assert str(excinfo.value).startswith(f"{path}, line 3: ")


# -- Rime --------------------------------------------------------------------


def test_rime_writes_its_usual_header_then_text_code_weight(tmp_path: Path) -> None:
    path = tmp_path / "custom_phrase.txt"
    write_phrases([QuickPhrase("kd", "亲，发中通"), QuickPhrase("kd", "可改顺丰")], path, "rime")
    raw = path.read_bytes()
    assert not raw.startswith(codecs.BOM_UTF8)
    lines = raw.decode("utf-8").split("\n")
    assert lines[:4] == [
        "# Rime table",
        "# coding: utf-8",
        "#@/db_name\tcustom_phrase.txt",
        "#@/db_type\ttabledb",
    ]
    assert any("weight" in line for line in lines if line.startswith("#"))
    # Weights count down so phrases sharing a code keep the file's order.
    assert [line for line in lines if line and not line.startswith("#")] == [
        "亲，发中通\tkd\t2",
        "可改顺丰\tkd\t1",
    ]


def test_rime_joins_line_breaks_with_spaces_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "custom_phrase.txt"
    phrases = [
        QuickPhrase("th", "感谢等待\n祝您愉快"),
        QuickPhrase("kd", "发中通"),
        QuickPhrase("tk", "七天无理由\r\n运费险"),
    ]
    notes = write_phrases(phrases, path, "rime")
    assert notes == ["2 phrases had line breaks joined with spaces: rime cannot hold them"]
    assert [p.text for p in read_phrases(path, "rime")] == [
        "感谢等待 祝您愉快",
        "发中通",
        "七天无理由 运费险",
    ]


def test_rime_replaces_tabs_and_a_leading_hash_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "custom_phrase.txt"
    phrases = [QuickPhrase("tab", "尺码\t165"), QuickPhrase("tag", "#包邮#")]
    notes = write_phrases(phrases, path, "rime")
    assert notes == [
        "1 phrase had tabs replaced with spaces: rime separates columns with tabs",
        "1 phrase had a leading '#' written as '＃': rime reads '#' lines as comments",
    ]
    assert read_phrases(path, "rime") == [
        QuickPhrase("tab", "尺码 165"),
        QuickPhrase("tag", "＃包邮#"),
    ]


def test_rime_reads_without_weights_and_skips_comments_blanks_and_yaml_header(
    tmp_path: Path,
) -> None:
    text = (
        "# Rime table\n"
        "---\n"
        "name: custom_phrase\n"
        "version: '1.0'\n"
        "...\n"
        "\n"
        "中州韻輸入法引擎\trime\t3\n"
        "星際我爭霸\tstarcraft\n"
        "# no comment\n"
        "Rime Input Method Engine\trime\n"
    )
    path = _write(tmp_path / "custom_phrase.txt", text, "utf-8")
    assert read_phrases(path, "rime") == [
        QuickPhrase("rime", "中州韻輸入法引擎"),
        QuickPhrase("starcraft", "星際我爭霸"),
        QuickPhrase("rime", "Rime Input Method Engine"),
    ]


def test_rime_line_with_one_column_names_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "custom_phrase.txt", "# Rime table\n好的\tok\t1\nNeoVim neo\n", "utf-8"
    )
    with pytest.raises(FormatError, match=r"custom_phrase\.txt, line 3: expected text<TAB>code"):
        read_phrases(path, "rime")


def test_rime_empty_code_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "custom_phrase.txt", "好的\t\t1\n", "utf-8")
    with pytest.raises(FormatError, match="line 1: empty code"):
        read_phrases(path, "rime")


def test_rime_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path / "custom_phrase.txt", "# Rime table\n好的\tok\n", "gbk")
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "rime")
    assert excinfo.value.line == 2


# -- QQ拼音 ------------------------------------------------------------------


def test_qq_writes_code_position_text_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "qq.txt"
    phrases = [QuickPhrase("kd", "亲，发中通,不指定"), QuickPhrase("kd", "可改顺丰")]
    write_phrases(phrases, path, "qq")
    expected = "kd=1,亲，发中通,不指定\r\nkd=2,可改顺丰\r\n"
    assert path.read_bytes() == codecs.BOM_UTF8 + expected.encode("utf-8")


def test_qq_joins_line_breaks_with_spaces_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "qq.txt"
    notes = write_phrases(MULTI_LINE, path, "qq")
    assert notes == ["1 phrase had line breaks joined with spaces: qq cannot hold them"]
    assert read_phrases(path, "qq") == [
        QuickPhrase("th", "感谢您的耐心等待 有问题随时联系客服 祝您生活愉快")
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "gbk"])
def test_qq_reads_utf16_utf8_and_gbk_files(tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path / "qq.txt", "kd=1,亲，发中通\r\n\r\nth=2,感谢=耐心\r\n", encoding)
    assert read_phrases(path, "qq") == [
        QuickPhrase("kd", "亲，发中通"),
        QuickPhrase("th", "感谢=耐心"),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("kd,1,亲", "no '='"),
        ("kd=亲", "no ','"),
        ("kd=x,亲", "bad position 'x'"),
        ("kd=0,亲", "bad position '0'"),
        ("=1,亲", "empty code"),
        ("kd=1,", "empty text"),
    ],
)
def test_qq_malformed_line_names_its_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path / "qq.txt", f"ok=1,好的\n{line}\n", "utf-8")
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, "qq")
    assert excinfo.value.line == 2
    assert reason in excinfo.value.reason


def test_qq_refuses_a_code_with_an_equals_sign(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="'a=b'"):
        write_phrases([QuickPhrase("a=b", "亲")], tmp_path / "qq.txt", "qq")


@pytest.mark.parametrize("fmt", ["sogou", "qq"])
def test_utf16_without_a_bom_is_recognised_by_its_nul_bytes(tmp_path: Path, fmt: str) -> None:
    line = "kd,1=亲\r\n" if fmt == "sogou" else "kd=1,亲\r\n"
    path = _write(tmp_path / "nobom.txt", line, "utf-16-le")
    assert read_phrases(path, fmt) == [QuickPhrase("kd", "亲")]


# -- errors common to every format -------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missing_file_is_a_format_error_naming_it(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(FormatError) as excinfo:
        read_phrases(path, fmt)
    assert excinfo.value.path == str(path)
    assert excinfo.value.line is None
    assert str(excinfo.value) == f"{path}: file not found"


def test_an_unknown_format_is_refused_on_read_and_write(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.txt", "kd=1,亲\n", "utf-8")
    with pytest.raises(FormatError, match="unknown format 'wechat'"):
        read_phrases(path, "wechat")
    with pytest.raises(FormatError, match="unknown format 'wechat'"):
        write_phrases(SINGLE_LINE, tmp_path / "out.txt", "wechat")


def test_an_unknown_encoding_is_a_format_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.txt", "kd=1,亲\n", "utf-8")
    with pytest.raises(FormatError, match="unknown encoding"):
        read_phrases(path, "qq", encoding="klingon")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("phrase", "reason"),
    [(QuickPhrase("", "亲"), "empty code"), (QuickPhrase("kd", " \n"), "empty text")],
)
def test_empty_code_or_text_is_refused_on_write(
    tmp_path: Path, fmt: str, phrase: QuickPhrase, reason: str
) -> None:
    path = tmp_path / "out"
    with pytest.raises(FormatError, match=reason):
        write_phrases([phrase], path, fmt)
    assert not path.exists()


def test_format_error_is_a_value_error_with_path_line_and_reason() -> None:
    error = FormatError("a.csv", 7, "empty code")
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.reason) == ("a.csv", 7, "empty code")
    assert str(error) == "a.csv, line 7: empty code"
    assert str(FormatError(Path("b.txt"), None, "file not found")) == "b.txt: file not found"
