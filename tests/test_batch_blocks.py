"""Cutting a chat log into blocks for worker processes (``blocks.py``).

The one rule: parsing the blocks one by one, each on its own, gives exactly
the records, row numbers, line numbers and rejects that reading the whole
file in one pass gives, however small the blocks and however broken the file.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quickphrase.service.batch import blocks as blocks_module
from quickphrase.service.batch.blocks import Block
from quickphrase.service.batch.readers import Source
from quickphrase.service.batch.rows import InputError, Reject, Row
from quickphrase.service.batch.writers import RecordWriter, Spilled

from .chatlogs import write_log


def whole(path: Path, **kw: object) -> list[Row | Reject]:
    with Source(path, **kw) as source:  # type: ignore[arg-type]
        return list(source)


def in_blocks(path: Path, size: int, **kw: object) -> list[Row | Reject]:
    with Source(path, **kw) as source:  # type: ignore[arg-type]
        blocks = list(source.blocks(size))
    return [record for block in blocks for record in block.rows()]


# Each example rewrites the same files in tmp_path.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]

# Pieces of CSV that trip parsers: quoted commas and line breaks, doubled
# quotes, quotes that are plain characters, blank lines, CRLF, a field too
# many, a quote after a closing quote (csv's strict mode rejects it), bytes
# that are not UTF-8.
CSV_PIECES = [
    "在吗,buyer\n",
    '"亲,能便宜点吗",buyer\n',
    '"第一行\n第二行",agent\n',
    '"他说""好的""",buyer\n',
    '他说"好的,buyer\n',
    "\n",
    "好的谢谢,buyer\r\n",
    "\r\n",
    "多,了,一列\n",
    '"ab"c,buyer\n',
    "只有文字\n",
    "  ,buyer\n",
]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    pieces=st.lists(st.sampled_from(CSV_PIECES), max_size=30),
    tail=st.sampled_from(["", '"never closed,buyer\n在吗,buyer\n', "没有换行,buyer"]),
    size=st.integers(min_value=1, max_value=200),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_csv_blocks_read_exactly_as_the_whole_file(
    tmp_path: Path, pieces: list[str], tail: str, size: int, encoding: str
) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(("text,role\n" + "".join(pieces) + tail).encode(encoding))
    assert in_blocks(path, size) == whole(path)


def test_csv_blocks_read_alike_when_csv_itself_counts(tmp_path: Path, monkeypatch) -> None:
    # Installed without a C compiler, the splitter counts records with csv.
    monkeypatch.setattr(blocks_module, "count_csv_records", None)
    path = tmp_path / "log.csv"
    path.write_text("text,role\n" + "".join(CSV_PIECES) * 3, encoding="utf-8")
    assert in_blocks(path, 40) == whole(path)


# -- the compiled record counter: csv's count without building fields -------

native_counter = pytest.mark.skipif(
    blocks_module.count_csv_records is None, reason="the native record counter was not built"
)


def csv_count(text: str, delimiter: str) -> int:
    """What the counter must answer: csv's count, or -1 where csv raises."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return sum(map(bool, rows))
    except csv.Error:
        return -1


@native_counter
@settings(max_examples=3000, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["在吗", "a", ",", "\t", '"', '""', "\n", "\r", "\r\n", " ", '"q,\nz"', "x\ty"]
        ),
        max_size=16,
    ).map("".join),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_the_native_counter_counts_records_as_csv_does(text: str, delimiter: str) -> None:
    # Quoted line breaks, doubled quotes, blank lines, lone CRs, a character
    # after a closing quote and text ending inside quotes (the last two make
    # csv raise, and the counter answer -1 so that csv counts instead).
    limit = csv.field_size_limit()
    assert blocks_module.count_csv_records(text, delimiter, limit) == csv_count(text, delimiter)


def lines_in(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


@native_counter
@settings(max_examples=3000, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["在吗", "a", ",", "\t", '"', '""', "\n", "\r", "\r\n", " ", '"q,\nz"', "x\ty",
             "尺码", "\x00"]
        ),
        max_size=16,
    ).map("".join),
    delimiter=st.sampled_from([",", "\t"]),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_the_byte_counter_counts_undecoded_utf8_and_gbk_as_the_text_counter_does(
    text: str, delimiter: str, encoding: str
) -> None:
    limit = csv.field_size_limit()
    records, lines = blocks_module.count_csv_bytes(text.encode(encoding), delimiter, limit)
    assert records == blocks_module.count_csv_records(text, delimiter, limit)
    assert lines == lines_in(text)


@native_counter
def test_the_byte_counter_leaves_a_field_over_the_limit_in_bytes_to_csv() -> None:
    # Three characters, nine bytes in UTF-8: csv would take it, the byte
    # counter cannot tell, so csv counts.
    assert blocks_module.count_csv_bytes("在吗呢\n".encode(), ",", 5) == (-1, 1)
    assert blocks_module.count_csv_records("在吗呢\n", ",", 5) == 1
    with pytest.raises(ValueError, match="below 0x30"):
        blocks_module.count_csv_bytes(b"a|b\n", "|", 5)


@native_counter
def test_the_native_counter_counts_a_generated_chat_log(tmp_path: Path) -> None:
    from quickphrase.training.chatlog import ChatLog

    path = ChatLog.from_dev_sets().write_csv(tmp_path / "log.csv", 3000)
    text = path.read_text(encoding="utf-8")
    assert blocks_module.count_csv_records(text, ",", csv.field_size_limit()) == 3001
    assert csv_count(text, ",") == 3001


@native_counter
@pytest.mark.parametrize(
    ("text", "limit"),
    [("abcdef\n", 5), ('"abcdef"\n', 5), ("a\n", 0), ('""""\n', 0), ("a\x00b\n", 100)],
)
def test_the_native_counter_leaves_oversized_fields_and_nuls_to_csv(
    text: str, limit: int
) -> None:
    assert blocks_module.count_csv_records(text, ",", limit) == -1


@pytest.mark.skipif(
    os.environ.get("QUICKPHRASE_REQUIRE_NATIVE") != "1",
    reason="set QUICKPHRASE_REQUIRE_NATIVE=1 where the install must compile the counter (CI)",
)
def test_the_install_compiled_the_native_record_counter() -> None:
    assert blocks_module.count_csv_records is not None


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    lines=st.lists(
        st.sampled_from(
            ['{"text": "在吗"}', '{"text": "亲,包邮吗", "role": "buyer"}', "", "  ",
             "not json", "[1, 2]", '{"text": 3}', '{"text": "\\u597d"}\r']
        ),
        max_size=25,
    ),
    bom=st.booleans(),
    size=st.integers(min_value=1, max_value=120),
)
def test_jsonl_blocks_read_exactly_as_the_whole_file(
    tmp_path: Path, lines: list[str], bom: bool, size: int
) -> None:
    path = tmp_path / "log.jsonl"
    body = '{"text": "你好"}\n' + "\n".join(lines)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + body.encode())
    assert in_blocks(path, size) == whole(path)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    lines=st.lists(st.sampled_from(["在吗", "", " ", "好的\r", "包邮吗?", "\r"]), max_size=25),
    ending=st.sampled_from(["\n", "\r\n"]),
    size=st.integers(min_value=1, max_value=80),
)
def test_text_blocks_read_exactly_as_the_whole_file(
    tmp_path: Path, lines: list[str], ending: str, size: int
) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(ending.join(lines).encode())
    assert in_blocks(path, size) == whole(path)


@pytest.mark.parametrize(
    ("data", "texts"),
    [
        (b'text\rhello\r"a\nb"\rworld\r', ["hello", "a\nb", "world"]),
        (b"text\r\nhello\r\nworld", ["hello", "world"]),
        (b'"te\nxt",role\nhello,buyer\n', None),
    ],
)
def test_the_header_ends_at_its_own_line_end(
    tmp_path: Path, data: bytes, texts: list[str] | None
) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(data)
    if texts is None:  # a quoted line break in a column name: no "text" column
        with pytest.raises(InputError, match=r"columns found: 'te.*', 'role'"):
            whole(path)
        return
    rows = whole(path)
    assert [r.text for r in rows] == texts
    assert in_blocks(path, 3) == rows


def test_jsonl_lines_end_only_at_line_feeds(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"text":"a",\r"role":"buyer"}\n{"text":"a"}\r{"text":"b"}\r')
    rows = whole(path)
    assert [type(r).__name__ for r in rows] == ["Row", "Reject"]
    assert in_blocks(path, 4) == rows


def test_csv_in_utf16_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("text\n在吗\n".encode("utf-16-le"))
    with pytest.raises(InputError, match="save it as UTF-8 or GBK"):
        Source(path, encoding="utf-16-le")


def test_undecodable_bytes_are_read_alike_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(b"text,role\n\xe5\x9c\xa8\xe5\x90\x97,buyer\n\xff\xfe,buyer\n\xe5\xa5\xbd,buyer\n")
    assert in_blocks(path, 5, encoding="utf-8") == whole(path, encoding="utf-8")


def test_parquet_blocks_are_its_record_batches(tmp_path: Path) -> None:
    log = [{"text": f"在吗{i}", "role": "buyer"} for i in range(10)]
    path = write_log(tmp_path / "log.parquet", log)
    assert in_blocks(path, 1) == whole(path)


def test_blocks_hold_whole_records_and_count_them(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text('text,role\n"第一行\n第二行",buyer\n在吗,buyer\n', encoding="utf-8")
    with Source(path) as source:
        blocks = list(source.blocks(12))
    assert [b.records for b in blocks] == [1, 1]
    assert [(b.first_row, b.first_line) for b in blocks] == [(0, 2), (1, 4)]


def test_a_block_whose_count_is_wrong_is_refused(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", [{"text": "在吗"}, {"text": "好的"}])
    with Source(path) as source:
        (block,) = source.blocks()
    with pytest.raises(RuntimeError, match="reader counted 3"):
        dataclasses.replace(block, records=3).rows()


def test_a_jsonl_log_without_the_text_key_fails_on_its_first_block(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"message": "在吗"}\n', encoding="utf-8")
    with Source(path) as source, pytest.raises(InputError, match="'message'"):
        next(source.blocks())


def test_a_file_in_utf16_cannot_be_cut(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes("在吗\n好的\n".encode("utf-16-le"))
    with Source(path, encoding="utf-16-le") as source:
        assert not source.splittable
        with pytest.raises(InputError, match="utf-16-le"):
            next(source.blocks())
    assert [r.text for r in whole(path, encoding="utf-16-le")] == ["在吗", "好的"]


def test_blocks_are_picklable_for_worker_processes(tmp_path: Path) -> None:
    import pickle

    path = write_log(tmp_path / "log.csv", [{"text": "在吗"}])
    with Source(path) as source:
        (block,) = source.blocks()
    again = pickle.loads(pickle.dumps(block))
    assert isinstance(again, Block)
    assert again.rows() == block.rows()


# --- spilled output ---------------------------------------------------------------------------


def spill(tmp_path: Path, name: str, data: bytes) -> Spilled:
    path = tmp_path / name
    path.write_bytes(data)
    return Spilled(str(path), len(data))


def test_the_writer_copies_spilled_output_in_order_and_deletes_it(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    writer = RecordWriter(out)
    first = spill(tmp_path, "a.part", b'{"row":1}\n')
    writer.write_encoded(first)
    writer.write_encoded(b'{"row":2}\n')
    writer.write_encoded(spill(tmp_path, "b.part", b'{"row":3}\n'))
    writer.close()
    assert out.read_bytes() == b'{"row":1}\n{"row":2}\n{"row":3}\n'
    assert not Path(first.path).exists()


def unsupported(*_: object) -> int:
    raise OSError(38, "Function not implemented")


def copies_nothing(*_: object) -> int:
    return 0


@pytest.mark.parametrize("copy_range", [unsupported, copies_nothing, None])
def test_spilled_output_is_copied_without_copy_file_range_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy_range: object
) -> None:
    if copy_range is None:  # macOS, Windows
        monkeypatch.delattr(os, "copy_file_range")
    else:
        monkeypatch.setattr(os, "copy_file_range", copy_range)
    out = tmp_path / "out.csv"
    writer = RecordWriter(out)
    writer.write_encoded(spill(tmp_path, "a.part", "在吗,buyer\n".encode()))
    writer.close()
    assert out.read_bytes().endswith("在吗,buyer\n".encode())


def test_a_spilled_file_shorter_than_promised_is_an_error(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "out.jsonl")
    short = spill(tmp_path, "a.part", b"{}\n")
    with pytest.raises(OSError, match="held 3 bytes, not 10"):
        writer.write_encoded(dataclasses.replace(short, size=10))
    writer.abort()
