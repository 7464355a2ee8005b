"""Offline batch scoring, files in and out: the chat-log readers and the record writers."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quickphrase.service.batch.job import default_rejects
from quickphrase.service.batch.readers import Source
from quickphrase.service.batch.rows import Columns, InputError, Reject, Row
from quickphrase.service.batch.scoring import FIELDS
from quickphrase.service.batch.writers import RecordWriter, RejectWriter

from .chatlogs import HEADER, read_output, write_csv, write_log

# One chat log, every field filled, so every format reads back the same values.
# The fifth message holds an ASCII comma and a line break (CSV must quote it).
LOG: list[dict[str, str]] = [
    {
        "text": "在吗",
        "role": "buyer",
        "conversation_id": "c1001",
        "agent_id": "a7",
        "timestamp": "2026-11-11 10:00:00",
        "shop_type": "taobao",
    },
    {
        "text": "亲这个能便宜点吗",
        "role": "buyer",
        "conversation_id": "c1001",
        "agent_id": "a7",
        "timestamp": "2026-11-11 10:00:20",
        "shop_type": "taobao",
    },
    {
        "text": "亲，明天肯定能到哦",
        "role": "agent",
        "conversation_id": "c1001",
        "agent_id": "a7",
        "timestamp": "2026-11-11 10:00:41",
        "shop_type": "taobao",
    },
    {
        "text": "165/110斤穿什么码",
        "role": "买家",
        "conversation_id": "c1002",
        "agent_id": "a8",
        "timestamp": "2026-11-11 10:03:00",
        "shop_type": "天猫",
    },
    {
        "text": "亲，建议拍M码,偏大一点\n不合适可以换哦",
        "role": "客服",
        "conversation_id": "c1002",
        "agent_id": "a8",
        "timestamp": "2026-11-11 10:03:30",
        "shop_type": "天猫",
    },
    {
        "text": "加我微信xxx",
        "role": "seller",
        "conversation_id": "c1003",
        "agent_id": "a9",
        "timestamp": "2026-11-11 10:05:00",
        "shop_type": "tmall",
    },
    {
        "text": "什么时候发货呀",
        "role": "customer",
        "conversation_id": "c1003",
        "agent_id": "a9",
        "timestamp": "2026-11-11 10:05:09",
        "shop_type": "tmall",
    },
]
BUYER_LINES = ["在吗", "亲这个能便宜点吗", "什么时候发货呀", "165/110斤穿什么码", "好的谢谢"]


def read_all(path: Path, **kw: Any) -> list[Row | Reject]:
    with Source(path, **kw) as source:
        return list(source)


def values(rows: Sequence[Row | Reject]) -> list[tuple[Any, ...]]:
    """What each row holds, without the line (Parquet has none)."""
    out = []
    for r in rows:
        assert isinstance(r, Row), r
        out.append((r.row, r.text, r.role, r.conversation_id, r.agent_id, r.timestamp, r.shop_type))
    return out


EXPECTED = [
    (n, r["text"], r["role"], r["conversation_id"], r["agent_id"], r["timestamp"], r["shop_type"])
    for n, r in enumerate(LOG, start=1)
]


# --- formats and encodings --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "fmt", "detected"),
    [
        ("log.csv", "utf-8", "csv", "utf-8"),
        ("log.csv", "utf-8-sig", "csv", "utf-8-sig"),
        ("log.csv", "gbk", "csv", "gb18030"),
        ("log.tsv", "utf-8", "tsv", "utf-8"),
        ("log.tsv", "gbk", "tsv", "gb18030"),
        ("log.jsonl", "utf-8", "jsonl", "utf-8"),
        ("log.parquet", "utf-8", "parquet", None),
    ],
    ids=["csv-utf8", "csv-utf8-bom", "csv-gbk", "tsv", "tsv-gbk", "jsonl", "parquet"],
)
def test_every_format_reads_the_same_rows(
    tmp_path: Path, name: str, encoding: str, fmt: str, detected: str | None
) -> None:
    path = write_log(tmp_path / name, LOG, encoding)
    with Source(path) as source:
        rows = list(source)
        assert source.format == fmt
        if detected:
            assert source.encoding == detected
    assert values(rows) == EXPECTED


def test_gbk_csv_is_detected_and_read(tmp_path: Path) -> None:
    path = write_log(tmp_path / "千牛导出.csv", LOG, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    with Source(path) as source:
        rows = list(source)
        assert source.encoding == "gb18030"  # the superset of GBK
    assert [r.text for r in rows] == [r["text"] for r in LOG]


def test_an_explicit_encoding_is_used_as_given(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", LOG, "gbk")
    with Source(path, encoding="gbk") as source:
        rows = list(source)
        assert source.encoding == "gbk"
    assert values(rows) == EXPECTED


def test_utf8_bom_does_not_stick_to_the_first_column_name(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", LOG, "utf-8-sig")
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    # Even when the encoding is given as plain UTF-8 the BOM is dropped.
    assert values(read_all(path, encoding="utf-8")) == EXPECTED


def test_text_file_is_one_buyer_message_per_line(tmp_path: Path) -> None:
    path = tmp_path / "messages.txt"
    path.write_bytes(codecs.BOM_UTF8 + "在吗\r\n\r\n亲这个能便宜点吗\n   \n什么时候发货呀".encode())
    with Source(path) as source:
        rows = list(source)
        assert source.format == "text"
    assert [(r.row, r.line, r.text) for r in rows] == [
        (1, 1, "在吗"),
        (2, 3, "亲这个能便宜点吗"),
        (3, 5, "什么时候发货呀"),
    ]
    assert all(r.role is None and r.conversation_id is None for r in rows)


def test_gbk_text_file_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "messages.txt"
    path.write_bytes("\n".join(BUYER_LINES).encode("gbk"))
    with Source(path) as source:
        assert [r.text for r in source] == BUYER_LINES
        assert source.encoding == "gb18030"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.ndjson", "jsonl"),
        ("a.json", "jsonl"),
        ("a.pq", "parquet"),
        ("a.TSV", "tsv"),
        ("a.text", "text"),
        ("chat.2026-11-11.CSV", "csv"),
    ],
)
def test_the_format_comes_from_the_extension(tmp_path: Path, name: str, fmt: str) -> None:
    suffix = {
        "jsonl": ".jsonl",
        "parquet": ".parquet",
        "tsv": ".tsv",
        "text": ".txt",
        "csv": ".csv",
    }[fmt]
    path = write_log(tmp_path / f"src{suffix}", LOG[:2])
    path = path.rename(tmp_path / name)
    with Source(path) as source:
        assert source.format == fmt
        assert [r.text for r in source] == ["在吗", "亲这个能便宜点吗"]


def test_an_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", LOG).rename(tmp_path / "export.dat")
    with pytest.raises(InputError, match="--input-format"):
        Source(path)
    with Source(path, fmt="csv") as source:
        assert values(list(source)) == EXPECTED
    with Source(path, fmt="text") as source:  # read as plain lines: the header is a message
        assert next(iter(source)).text == ",".join(HEADER)


def test_an_unknown_format_name_is_an_input_error(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", LOG)
    with pytest.raises(InputError, match="unknown input format 'xlsx'"):
        Source(path, fmt="xlsx")


def test_an_unknown_encoding_is_an_input_error(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", LOG)
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        Source(path, encoding="klingon")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        Source(tmp_path / "nope.csv")


@pytest.mark.parametrize("name", ["log.csv", "messages.txt"])
def test_utf16_is_refused_with_advice(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(codecs.BOM_UTF16_LE + "text\n在吗\n".encode("utf-16-le"))
    with pytest.raises(InputError, match=r"UTF-16.*UTF-8 or GBK"):
        Source(path)


def test_a_file_that_is_not_parquet_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    path.write_text("text\n在吗\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        Source(path)


# --- CSV details ------------------------------------------------------------------


def test_quoted_commas_and_line_breaks_survive(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "log.csv",
        [
            ["亲，在的,请问有什么可以帮您\n稍等哦", "agent"],
            ['满"99"包邮, 偏远地区除外', "agent"],
            ["好的谢谢", "buyer"],
        ],
        header=("text", "role"),
    )
    rows = read_all(path)
    assert [(r.row, r.line, r.text) for r in rows] == [
        (1, 2, "亲，在的,请问有什么可以帮您\n稍等哦"),
        (2, 4, '满"99"包邮, 偏远地区除外'),
        (3, 5, "好的谢谢"),
    ]


def test_a_reject_after_a_multi_line_record_has_the_line_it_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "text,role\n"
        '"亲，建议拍M码\n偏大一点\n不合适可以换哦",agent\n'  # lines 2-4
        "在吗,buyer,多出来的一列\n"  # line 5: too many fields
        "好的,buyer\n",
        encoding="utf-8",
    )
    rows = read_all(path)
    assert isinstance(rows[0], Row)
    assert (rows[0].row, rows[0].line) == (1, 2)
    assert rows[1] == Reject(
        2, 5, "malformed row: 3 fields where the header has 2", ["在吗", "buyer", "多出来的一列"]
    )
    assert isinstance(rows[2], Row)
    assert (rows[2].row, rows[2].line, rows[2].text) == (3, 6, "好的")


def test_crlf_line_endings_count_lines_like_lf(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes('text,role\r\n"在吗\r\n还在吗",buyer\r\n\r\n好的,buyer\r\n'.encode())
    rows = read_all(path)
    assert [(r.row, r.line, r.text) for r in rows] == [(1, 2, "在吗\r\n还在吗"), (2, 5, "好的")]


def test_blank_lines_are_skipped_and_do_not_count_as_records(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("text\n\n在吗\n\n\n好的谢谢\n\n", encoding="utf-8")
    rows = read_all(path)
    assert [(r.row, r.line, r.text) for r in rows] == [(1, 3, "在吗"), (2, 6, "好的谢谢")]


def test_a_short_row_reads_the_missing_fields_as_none(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "text,role,conversation_id,agent_id\n在吗,buyer\n亲，在的,agent,c1,a7\n", encoding="utf-8"
    )
    first, second = read_all(path)
    assert isinstance(first, Row)
    assert isinstance(second, Row)
    assert (first.text, first.role, first.conversation_id, first.agent_id) == (
        "在吗",
        "buyer",
        None,
        None,
    )
    assert (second.conversation_id, second.agent_id) == ("c1", "a7")
    # Columns the header does not have at all are None too.
    assert (first.timestamp, first.shop_type) == (None, None)


def test_an_empty_cell_reads_as_an_empty_string(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", [["在吗", "buyer", "", "", "", ""]])
    (row,) = read_all(path)
    assert isinstance(row, Row)
    assert (row.conversation_id, row.agent_id, row.shop_type) == ("", "", "")


def test_undecodable_bytes_survive_as_lone_surrogates(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(
        "text,role\n在吗,buyer\n".encode() + b"\xff\xfe\xfd,buyer\n" + "好的谢谢,buyer\n".encode()
    )
    with Source(path) as source:
        rows = list(source)
        assert source.encoding == "utf-8"
    assert [r.text for r in rows] == ["在吗", "\udcff\udcfe\udcfd", "好的谢谢"]


def test_a_200000_character_cell_is_read_whole(tmp_path: Path) -> None:
    big = "亲这个能便宜点吗" * 25_000
    path = write_csv(tmp_path / "log.csv", [["在吗"], [big], ["好的谢谢"]], header=("text",))
    rows = read_all(path)
    assert [len(r.text) for r in rows] == [2, 200_000, 4]
    assert rows[1].text == big


def test_a_cell_over_the_field_limit_is_a_reject_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    with open(path, "wb") as f:
        f.write(b'text,role\n"' + b"x" * (17 << 20) + b'",buyer\n')
        f.write("好的,buyer\n".encode())
    first, second = read_all(path)
    assert isinstance(first, Reject)
    assert (first.row, first.line) == (1, 2)
    assert first.reason.startswith("malformed CSV: field larger than field limit")
    assert isinstance(second, Row)
    assert (second.row, second.line, second.text) == (2, 3, "好的")


def test_header_only_csv_has_no_records(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", [])
    assert read_all(path) == []


def test_column_names_are_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(" text , role \n在吗,buyer\n", encoding="utf-8")
    (row,) = read_all(path)
    assert isinstance(row, Row)
    assert (row.text, row.role) == ("在吗", "buyer")


def test_tsv_keeps_commas_inside_messages(tmp_path: Path) -> None:
    path = tmp_path / "log.tsv"
    path.write_text(
        "text\trole\n亲，在的,请问有什么可以帮您\tagent\n在吗\tbuyer\n", encoding="utf-8"
    )
    rows = read_all(path)
    assert [(r.text, r.role) for r in rows] == [
        ("亲，在的,请问有什么可以帮您", "agent"),
        ("在吗", "buyer"),
    ]


def test_an_unterminated_quote_is_a_reject_not_a_giant_message(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        'text,role\n在吗,buyer\n"亲这个能便宜点吗,buyer\n好的,buyer\n再见,buyer\n', encoding="utf-8"
    )
    rows = read_all(path)
    assert isinstance(rows[0], Row)
    assert rows[0].text == "在吗"
    # Whatever the reader makes of the rest, no record may hold the next lines' text.
    assert not any(isinstance(r, Row) and "\n" in r.text for r in rows)
    assert any(isinstance(r, Reject) and r.line == 3 for r in rows)


def test_one_cut_character_does_not_turn_a_utf8_log_into_gb18030(tmp_path: Path) -> None:
    # A message truncated to 20 bytes by an export (VARCHAR(20) in bytes): the
    # seventh character loses its last byte.
    cut = "亲这个能便宜点吗".encode()[:20]
    path = tmp_path / "log.csv"
    path.write_bytes(
        "text,role\n在吗,buyer\n".encode() + cut + b",buyer\n" + "好的谢谢,buyer\n".encode()
    )
    with Source(path) as source:
        rows = list(source)
        assert source.encoding == "utf-8"
    assert [rows[0].text, rows[2].text] == ["在吗", "好的谢谢"]


# --- JSONL details ----------------------------------------------------------------


def test_jsonl_bad_lines_become_rejects_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                '{"text": "在吗", "role": "buyer"}'.encode(),
                b'{"text": "\xff\xfe", "role": "buyer"}',  # line 2: not UTF-8
                b"",  # line 3: blank, skipped
                '{"text": "亲这个能便宜点吗", "role": '.encode(),  # line 4: cut short
                b"[1, 2]",  # line 5: not an object
                '"什么时候发货呀"'.encode(),  # line 6: a bare string
                '{"message": "好的", "role": "buyer"}'.encode(),  # line 7: no text key
                '{"text": "好的谢谢", "role": "buyer"}'.encode(),
            ]
        )
        + b"\n"
    )
    rows = read_all(path)
    assert [(r.row, r.line) for r in rows] == [
        (1, 1),
        (2, 2),
        (3, 4),
        (4, 5),
        (5, 6),
        (6, 7),
        (7, 8),
    ]
    assert isinstance(rows[0], Row)
    assert rows[0].text == "在吗"
    assert rows[1] == Reject(
        2, 2, "undecodable bytes (not UTF-8)", '{"text": "\\xff\\xfe", "role": "buyer"}'
    )
    assert isinstance(rows[2], Reject)
    assert rows[2].reason.startswith("invalid JSON: ")
    assert rows[2].raw == '{"text": "亲这个能便宜点吗", "role": '
    assert rows[3] == Reject(4, 5, "not a JSON object", [1, 2])
    assert rows[4] == Reject(5, 6, "not a JSON object", "什么时候发货呀")
    # Only the first object decides the columns; a later one without text is a row
    # without text (the scorer rejects it as "missing text").
    assert isinstance(rows[5], Row)
    assert rows[5].text is None
    assert rows[5].role == "buyer"
    assert isinstance(rows[6], Row)
    assert rows[6].text == "好的谢谢"


def test_jsonl_values_keep_their_json_types(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"text": 12345, "conversation_id": 1001, "agent_id": null, "timestamp": 1.5,'
        ' "shop_type": ["tmall"]}\n',
        encoding="utf-8",
    )
    (row,) = read_all(path)
    assert isinstance(row, Row)
    assert (row.text, row.conversation_id, row.agent_id, row.timestamp, row.shop_type) == (
        12345,
        1001,
        None,
        1.5,
        ["tmall"],
    )


def test_jsonl_with_bom_and_crlf_is_read(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + '{"text": "在吗"}\r\n{"text": "好的"}\r\n'.encode())
    assert [r.text for r in read_all(path)] == ["在吗", "好的"]


def test_jsonl_without_the_text_key_names_the_keys_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"msg": "在吗", "speaker": "buyer"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="no column 'text'; columns found: 'msg', 'speaker'"):
        read_all(path)


# --- columns ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["log.csv", "log.tsv", "log.jsonl", "log.parquet"])
def test_a_missing_text_column_names_the_columns_found(tmp_path: Path, name: str) -> None:
    log = [{"message": "在吗", "speaker": "buyer"}]
    path = tmp_path / name
    if path.suffix in (".csv", ".tsv"):
        write_csv(
            path,
            [["在吗", "buyer"]],
            header=("message", "speaker"),
            delimiter="\t" if path.suffix == ".tsv" else ",",
        )
    else:
        write_log(path, log)
    with pytest.raises(InputError) as caught:
        read_all(path)
    message = str(caught.value)
    assert "no column 'text'" in message
    assert "columns found: 'message', 'speaker'" in message


def test_a_required_column_that_is_missing_fails(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", [["在吗", "buyer"]], header=("text", "role"))
    columns = Columns(role="speaker")
    with pytest.raises(InputError, match="no column 'speaker'"):
        read_all(path, columns=columns, required=frozenset({"speaker"}))
    # Not required (the default name, not asked for): a missing role column is fine.
    (row,) = read_all(path, columns=columns)
    assert isinstance(row, Row)
    assert row.role is None


def test_custom_column_names_map_to_the_row_fields(tmp_path: Path) -> None:
    header = ("消息", "角色", "会话", "客服号", "时间", "店铺")
    path = write_csv(
        tmp_path / "log.csv",
        [["在吗", "买家", "c1", "", "2026-11-11 10:00:00", "淘宝"]],
        header=header,
    )
    columns = Columns(
        text="消息", role="角色", conversation="会话", agent="客服号", time="时间", shop_type="店铺"
    )
    (row,) = read_all(path, columns=columns, required=frozenset(header[1:]))
    assert row == Row(1, 2, "在吗", "买家", "c1", "", "2026-11-11 10:00:00", "淘宝")


def test_columns_may_come_in_any_order_and_extra_ones_are_ignored(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "log.csv",
        [["x", "agent", "亲，在的", "c9"]],
        header=("note", "role", "text", "conversation_id"),
    )
    (row,) = read_all(path)
    assert (row.text, row.role, row.conversation_id, row.agent_id) == (
        "亲，在的",
        "agent",
        "c9",
        None,
    )


# --- Parquet details ---------------------------------------------------------------


def test_parquet_values_keep_their_arrow_types_and_have_no_line(tmp_path: Path) -> None:
    import datetime as dt

    table = pa.table(
        {
            "text": ["在吗", None],
            "conversation_id": pa.array([1001, None], pa.int64()),
            "timestamp": pa.array([dt.datetime(2026, 11, 11, 10, 0, 0), None], pa.timestamp("s")),
        }
    )
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    first, second = read_all(path)
    assert isinstance(first, Row)
    assert (first.row, first.line, first.text, first.conversation_id) == (1, None, "在吗", 1001)
    assert first.timestamp == dt.datetime(2026, 11, 11, 10, 0, 0)
    assert (first.role, first.agent_id, first.shop_type) == (None, None, None)
    assert second == Row(2, None, None)


# --- progress counters -------------------------------------------------------------


@pytest.mark.parametrize("name", ["log.csv", "log.jsonl", "messages.txt"])
def test_progress_counts_bytes_up_to_the_file_size(tmp_path: Path, name: str) -> None:
    path = write_log(
        tmp_path / name, LOG if name != "messages.txt" else [{"text": t} for t in BUYER_LINES]
    )
    with Source(path) as source:
        assert source.total == path.stat().st_size
        assert source.done == 0
        rows = list(source)
        assert source.done == source.total
    assert rows


def test_parquet_progress_counts_rows(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.parquet", LOG)
    with Source(path) as source:
        assert source.total == len(LOG)
        assert source.done == 0
        list(source)
        assert source.done == len(LOG)


# --- record writers -----------------------------------------------------------------


def buyer_record(row: int, text: str = "在吗") -> dict[str, Any]:
    return {
        "row": row,
        "role": "buyer",
        "conversation_id": "c1",
        "agent_id": None,
        "timestamp": "2026-11-11 10:00:00",
        "shop_type": "taobao",
        "text": text,
        "intent": "greeting",
        "confidence": 0.9876,
        "intents": [{"intent": "greeting", "score": 0.9876}],
        "suggestions": [
            {
                "phrase_id": "greeting.welcome_shop",
                "text": "亲,您好~欢迎光临,在的哦",
                "intent": "greeting",
                "score": 1.074,
            }
        ],
        "verdict": None,
        "violations": None,
        "redacted": None,
    }


def agent_record(row: int) -> dict[str, Any]:
    return {
        "row": row,
        "role": "agent",
        "conversation_id": "c1",
        "agent_id": "a7",
        "timestamp": None,
        "shop_type": "tmall",
        "text": "有问题请打13812345678,\n随时找我",
        "intent": None,
        "confidence": None,
        "intents": None,
        "suggestions": None,
        "verdict": "block",
        "violations": [
            {
                "rule": "pii_leak.mobile",
                "category": "pii_leak",
                "severity": "block",
                "start": 5,
                "end": 16,
            }
        ],
        "redacted": "有问题请打138****5678,\n随时找我",
    }


RECORDS = [buyer_record(1), agent_record(2), buyer_record(4, "什么时候发货呀")]


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_every_output_format_holds_the_same_records(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    writer = RecordWriter(path)
    writer.write(RECORDS[:2])
    writer.write(RECORDS[2:])
    writer.close()
    assert read_output(path) == RECORDS


def test_jsonl_output_has_the_fields_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    writer = RecordWriter(path)
    writer.write(RECORDS)
    writer.close()
    for line in path.read_text(encoding="utf-8").splitlines():
        assert tuple(json.loads(line)) == FIELDS
    assert "在吗" in path.read_text(encoding="utf-8")  # Chinese as is, not \\u escapes


def test_csv_output_has_a_bom_a_header_and_json_in_nested_fields(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    writer = RecordWriter(path)
    writer.write(RECORDS)
    writer.close()
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8 + ",".join(FIELDS).encode())
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert json.loads(rows[0]["suggestions"])[0]["phrase_id"] == "greeting.welcome_shop"
    assert json.loads(rows[1]["violations"])[0]["category"] == "pii_leak"
    assert rows[1]["text"] == "有问题请打13812345678,\n随时找我"  # quoted, kept whole
    assert rows[0]["verdict"] == ""
    assert rows[1]["intents"] == ""


def test_parquet_output_has_typed_columns(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    writer = RecordWriter(path)
    writer.write(RECORDS)
    writer.close()
    schema = pq.read_schema(path)
    assert schema.names == list(FIELDS)
    assert schema.field("row").type == pa.int64()
    assert schema.field("confidence").type == pa.float64()
    assert pa.types.is_list(schema.field("suggestions").type)


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_no_records_make_a_valid_empty_output(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    writer = RecordWriter(path)
    writer.write([])
    writer.close()
    assert read_output(path) == []
    if name.endswith(".parquet"):
        assert pq.read_schema(path).names == list(FIELDS)
    if name.endswith(".csv"):
        assert path.read_bytes() == codecs.BOM_UTF8 + (",".join(FIELDS) + "\r\n").encode()


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_output_is_written_to_a_partial_file_and_renamed_on_close(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    partial = tmp_path / f"{name}.partial"
    writer = RecordWriter(path)
    writer.write(RECORDS)
    assert partial.exists()
    assert not path.exists()
    writer.close()
    assert path.exists()
    assert not partial.exists()


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_abort_leaves_neither_the_output_nor_the_partial(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    writer = RecordWriter(path)
    writer.write(RECORDS)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_ndjson_output_is_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    writer = RecordWriter(path)
    writer.write(RECORDS)
    writer.close()
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == RECORDS


def test_output_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "2026" / "11" / "out.jsonl"
    writer = RecordWriter(path)
    writer.close()
    assert path.exists()


@pytest.mark.parametrize("name", ["out.txt", "out.xlsx", "out"])
def test_an_unknown_output_extension_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="cannot tell the output format"):
        RecordWriter(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write"):
        RecordWriter(blocker / "out.jsonl")


# --- the rejects file -----------------------------------------------------------------


def test_rejects_file_has_row_line_reason_and_raw(tmp_path: Path) -> None:
    path = tmp_path / "out.rejects.jsonl"
    writer = RejectWriter(path)
    writer.write(
        [
            Reject(3, 4, "missing text", {"text": "", "role": "buyer"}).to_dict(),
            Reject(
                5, None, "malformed row: 3 fields where the header has 2", ["a", "b", "c"]
            ).to_dict(),
        ]
    )
    writer.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"row": 3, "line": 4, "reason": "missing text", "raw": {"text": "", "role": "buyer"}},
        {
            "row": 5,
            "line": None,
            "reason": "malformed row: 3 fields where the header has 2",
            "raw": ["a", "b", "c"],
        },
    ]
    assert writer.count == 2


def test_rejects_show_undecodable_bytes_as_escapes(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    writer = RejectWriter(path)
    writer.write(
        [Reject(2, 3, "undecodable bytes in the text", {"text": "\udcff\udcfe在吗"}).to_dict()]
    )
    writer.close()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["raw"] == {"text": "\\xff\\xfe在吗"}


def test_rejects_path_defaults_to_beside_the_output() -> None:
    assert default_rejects(Path("/data/out.jsonl")) == Path("/data/out.rejects.jsonl")
    assert default_rejects(Path("scored.2026-11-11.parquet")) == Path(
        "scored.2026-11-11.rejects.jsonl"
    )


def test_a_quote_left_open_until_a_later_quote_is_rejected_not_scored(tmp_path: Path) -> None:
    # The open quote on line 3 is "closed" by a stray quote on line 64, so
    # csv alone would make lines 3-64 one giant message.
    lines = ["text,role", "在吗,buyer", '"亲这个能便宜点吗,buyer']
    lines += [f"第{i}条,buyer" for i in range(60)]
    lines += ['好的",buyer', "谢谢,buyer"]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = read_all(path)
    assert rows[0].text == "在吗"
    assert isinstance(rows[1], Reject)
    assert rows[1].line == 3
    assert "quote left open" in rows[1].reason
    assert isinstance(rows[-1], Row)
    assert rows[-1].text == "谢谢"
