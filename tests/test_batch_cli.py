"""``quickphrase batch`` end to end with the local engine: chat logs in, scored lines out."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from quickphrase.engine import Engine
from quickphrase.service import cli_batch
from quickphrase.service.batch.job import BatchJob, default_rejects
from quickphrase.service.batch.local import run_local
from quickphrase.service.batch.progress import BarProgress
from quickphrase.service.batch.rows import Reject, Row
from quickphrase.service.batch.scoring import FIELDS, Scorer
from quickphrase.service.cli import app

from .chatlogs import HEADER, read_output, write_csv, write_log

runner = CliRunner()
PHONE = "13812345678"
SUMMARY = re.compile(
    r"^(?P<read>[\d,]+) lines read, (?P<scored>[\d,]+) scored, (?P<rejected>[\d,]+) rejected "
    r"in [\d.]+ s \([\d,]+ lines/s\) -> (?P<output>.+?)(?:; rejects: (?P<rejects>.+))?$"
)
BAR_CHARACTERS = ("━", "ETA", "%")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(autouse=True)
def _one_engine_per_module(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    """The command loads the same default engine in every test; load it once.

    Runs with a model, phrase library or rules of their own still load them.
    """
    real = cli_batch.load_engine

    def load(
        model: Path | None,
        phrases: Path | None,
        rules: list[Path] | None = None,
        disable: list[str] | None = None,
    ) -> Engine:
        if model is None and phrases is None and not rules and not disable:
            return engine
        return real(model, phrases, rules, disable)

    monkeypatch.setattr(cli_batch, "load_engine", load)


def batch(*args: str | Path) -> Result:
    return runner.invoke(app, ["batch", *map(str, args)])


def summary_of(result: Result) -> dict[str, Any]:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    found: dict[str, Any] = match.groupdict()
    for key in ("read", "scored", "rejected"):
        found[key] = int(found[key].replace(",", ""))
    return found


def ok(*args: str | Path) -> dict[str, Any]:
    """Run the command, expect success; the summary line's numbers."""
    result = batch(*args)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout == ""
    return summary_of(result)


def failed(code: int, *args: str | Path) -> str:
    """Run the command, expect exit ``code`` with one clear error; the message."""
    result = batch(*args)
    assert result.exit_code == code, (result.stderr, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: "), result.stderr
    return result.stderr


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- the chat log, in every format ---------------------------------------------------

LOG: list[dict[str, Any]] = [
    {
        "text": "在吗",
        "role": "buyer",
        "conversation_id": 1001,
        "agent_id": None,
        "timestamp": dt.datetime(2026, 11, 11, 10, 0, 0),
        "shop_type": None,
    },
    {
        "text": "亲，在的,请问有什么可以帮您\n看中哪款了呢",
        "role": "客服",
        "conversation_id": 1001,
        "agent_id": "a7",
        "timestamp": dt.datetime(2026, 11, 11, 10, 0, 12),
        "shop_type": None,
    },
    {
        "text": "亲这个能便宜点吗",
        "role": "buyer",
        "conversation_id": 1001,
        "agent_id": None,
        "timestamp": dt.datetime(2026, 11, 11, 10, 0, 30),
        "shop_type": None,
    },
    {
        "text": "什么时候发货呀",
        "role": "买家",
        "conversation_id": 1001,
        "agent_id": None,
        "timestamp": dt.datetime(2026, 11, 11, 10, 1, 0),
        "shop_type": None,
    },
    {
        "text": "亲，明天肯定能到哦",
        "role": "agent",
        "conversation_id": 1001,
        "agent_id": "a7",
        "timestamp": dt.datetime(2026, 11, 11, 10, 1, 20),
        "shop_type": None,
    },
    {
        "text": "165/110斤穿什么码",
        "role": "customer",
        "conversation_id": 1002,
        "agent_id": None,
        "timestamp": dt.datetime(2026, 11, 11, 11, 5, 0),
        "shop_type": "天猫",
    },
    {
        "text": "加我微信xxx",
        "role": "seller",
        "conversation_id": 1002,
        "agent_id": "a8",
        "timestamp": dt.datetime(2026, 11, 11, 11, 5, 40),
        "shop_type": "天猫",
    },
    {
        "text": f"有问题请打{PHONE}",
        "role": "卖家",
        "conversation_id": 1002,
        "agent_id": "a8",
        "timestamp": dt.datetime(2026, 11, 11, 11, 6, 0),
        "shop_type": "tmall",
    },
    {
        "text": "好的谢谢",
        "role": "buyer",
        "conversation_id": 1002,
        "agent_id": None,
        "timestamp": dt.datetime(2026, 11, 11, 11, 6, 30),
        "shop_type": "tmall",
    },
]
BUYER_LINES = [
    "在吗",
    "亲这个能便宜点吗",
    "什么时候发货呀",
    "165/110斤穿什么码",
    "新疆包邮吗",
    "好的谢谢",
    "在吗",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> bytes:
    """The JSONL output for LOG read from a plain UTF-8 CSV."""
    folder = tmp_path_factory.mktemp("reference")
    source = write_log(folder / "log.csv", LOG)
    out = folder / "out.jsonl"
    with pytest.MonkeyPatch.context() as patch:  # module scope: the autouse patch is not on
        patch.setattr(cli_batch, "load_engine", lambda *_: engine)
        result = runner.invoke(app, ["batch", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return out.read_bytes()


@pytest.mark.parametrize(
    ("name", "encoding", "options"),
    [
        ("log.csv", "utf-8-sig", []),
        ("log.csv", "gbk", []),
        ("log.csv", "gbk", ["--encoding", "gbk"]),
        ("log.tsv", "utf-8", []),
        ("log.tsv", "gbk", []),
        ("log.jsonl", "utf-8", []),
        ("log.parquet", "utf-8", []),
        ("chat_export.dat", "utf-8", ["--input-format", "csv"]),
    ],
    ids=[
        "csv-bom",
        "csv-gbk",
        "csv-gbk-explicit",
        "tsv",
        "tsv-gbk",
        "jsonl",
        "parquet",
        "input-format",
    ],
)
def test_every_input_format_gives_the_same_records(
    tmp_path: Path, reference: bytes, name: str, encoding: str, options: list[str]
) -> None:
    source = tmp_path / name
    if source.suffix == ".dat":
        write_log(tmp_path / "log.csv", LOG).rename(source)
    else:
        write_log(source, LOG, encoding)
    out = tmp_path / "out.jsonl"
    summary = ok(source, "-o", out, *options)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (len(LOG), len(LOG), 0)
    assert out.read_bytes() == reference


def test_the_reference_records_are_what_the_log_says(reference: bytes) -> None:
    records = [json.loads(line) for line in reference.decode().splitlines()]
    assert [r["row"] for r in records] == list(range(1, len(LOG) + 1))
    assert [r["text"] for r in records] == [r["text"] for r in LOG]
    assert [r["role"] for r in records] == [
        "buyer",
        "agent",
        "buyer",
        "buyer",
        "agent",
        "buyer",
        "agent",
        "agent",
        "buyer",
    ]
    assert records[0]["conversation_id"] == "1001"
    assert records[0]["timestamp"] == "2026-11-11 10:00:00"
    assert records[0]["agent_id"] is None
    assert [r["shop_type"] for r in records] == ["taobao"] * 5 + ["tmall"] * 4


def test_a_gbk_log_is_read_without_being_told(tmp_path: Path) -> None:
    source = write_log(tmp_path / "千牛聊天记录.csv", LOG, "gbk")
    out = tmp_path / "out.jsonl"
    ok(source, "-o", out)
    assert [r["text"] for r in jsonl(out)] == [r["text"] for r in LOG]


def test_a_text_file_is_read_as_buyer_messages(tmp_path: Path) -> None:
    log = [{"text": t} for t in BUYER_LINES]
    as_text = write_log(tmp_path / "messages.txt", log)
    as_csv = write_csv(tmp_path / "messages.csv", [[t] for t in BUYER_LINES], header=("text",))
    ok(as_text, "-o", tmp_path / "from_text.jsonl")
    ok(as_csv, "-o", tmp_path / "from_csv.jsonl")
    from_text = (tmp_path / "from_text.jsonl").read_bytes()
    assert from_text == (tmp_path / "from_csv.jsonl").read_bytes()
    records = jsonl(tmp_path / "from_text.jsonl")
    assert [r["text"] for r in records] == BUYER_LINES
    assert {r["role"] for r in records} == {"buyer"}
    assert all(r["suggestions"] for r in records)


# --- what is in a record ------------------------------------------------------------------


def test_buyer_lines_get_suggestions_and_agent_lines_get_verdicts(
    tmp_path: Path, engine: Engine, reference: bytes
) -> None:
    records = {r["text"]: r for r in map(json.loads, reference.decode().splitlines())}
    library = {p.id for p in engine.library.phrases}
    for record in records.values():
        assert tuple(record) == FIELDS
        if record["role"] == "buyer":
            assert record["intent"]
            assert 1 <= len(record["suggestions"]) <= 3
            assert {s["phrase_id"] for s in record["suggestions"]} <= library
            for s in record["suggestions"]:
                assert engine.check(s["text"], record["shop_type"]).verdict != "block"
            assert (record["verdict"], record["violations"], record["redacted"]) == (
                None,
                None,
                None,
            )
        else:
            assert record["verdict"] in ("pass", "warn", "block")
            assert record["intent"] is None
            assert record["suggestions"] is None
    assert records["亲这个能便宜点吗"]["intent"] == "bargaining"
    assert records["165/110斤穿什么码"]["intent"] == "size"
    promise = records["亲，明天肯定能到哦"]
    assert promise["verdict"] == "block"
    assert [v["category"] for v in promise["violations"]] == ["delivery_promise"]
    wechat = records["加我微信xxx"]
    assert [v["category"] for v in wechat["violations"]] == ["off_platform"]
    phone = records[f"有问题请打{PHONE}"]
    assert [v["category"] for v in phone["violations"]] == ["pii_leak"]
    assert phone["redacted"] == "有问题请打138****5678"
    assert PHONE not in phone["redacted"]


def test_k_and_shop_type_options_apply(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "log.csv", [["亲这个能便宜点吗"], ["在吗"]], header=("text",))
    out = tmp_path / "out.jsonl"
    ok(source, "-o", out, "-k", "1", "--shop-type", "tmall")
    records = jsonl(out)
    assert [len(r["suggestions"]) for r in records] == [1, 1]
    assert {r["shop_type"] for r in records} == {"tmall"}


def test_a_shop_type_column_beats_the_option(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "log.csv",
        [["在吗", "淘宝"], ["在吗", ""], ["在吗", "天猫"]],
        header=("text", "shop_type"),
    )
    out = tmp_path / "out.jsonl"
    ok(source, "-o", out, "--shop-type", "tmall")
    assert [r["shop_type"] for r in jsonl(out)] == ["taobao", "tmall", "tmall"]


def test_disabling_a_rule_category_lets_its_lines_pass(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "log.csv",
        [["亲，明天肯定能到哦", "agent"], ["加我微信xxx", "agent"]],
        header=("text", "role"),
    )
    out = tmp_path / "out.jsonl"
    ok(source, "-o", out, "--disable-rule", "delivery_promise")
    promise, wechat = jsonl(out)
    assert "delivery_promise" not in [v["category"] for v in promise["violations"]]
    assert wechat["verdict"] == "block"


# --- malformed input --------------------------------------------------------------------------


def test_every_kind_of_malformed_csv_row_is_rejected_and_the_rest_scored(tmp_path: Path) -> None:
    source = tmp_path / "log.csv"
    source.write_bytes(
        "text,role,conversation_id,agent_id,timestamp,shop_type\n"  # 1
        "在吗,buyer,c1,,2026-11-11 10:00:00,\n"  # 2: fine
        '"亲，在的\n请问有什么可以帮您",agent,c1,a7,,\n'  # 3-4: fine, two lines
        "亲这个能便宜点吗,buyer,c1,,,,,\n"  # 5: too many fields
        ",buyer,c1,,,\n"  # 6: no text
        "什么时候发货呀,boss,c1,,,\n".encode()  # 7: unknown role
        + "你好吗".encode("gbk")
        + b",buyer,c2,,,\n"  # 8: GBK bytes in a UTF-8 file
        + "165/110斤穿什么码,buyer,c2,,,京东\n"  # 9: unknown shop type
        "\n"  # 10: blank, not a record
        "亲，明天肯定能到哦,agent,c2,a8,,\n".encode()  # 11: fine
        + b"\xe5\x8a\xa0\xe6\x88\x91,agent,c2,a\xff8,,\n"  # 12: bad byte in the agent id
        + "好的谢谢,buyer,c2\n".encode()  # 13: short row: fine
    )
    out = tmp_path / "out.jsonl"
    summary = ok(source, "-o", out)
    rejects_path = tmp_path / "out.rejects.jsonl"
    assert summary == {
        "read": 10,
        "scored": 4,
        "rejected": 6,
        "output": str(out),
        "rejects": str(rejects_path),
    }
    assert summary["read"] == summary["scored"] + summary["rejected"]
    rejects = jsonl(rejects_path)
    assert [(r["row"], r["line"], r["reason"]) for r in rejects] == [
        (3, 5, "malformed row: 8 fields where the header has 6"),
        (4, 6, "missing text"),
        (5, 7, "unknown role 'boss' (expected buyer or agent)"),
        (6, 8, "undecodable bytes in the text"),
        (7, 9, "unknown shop type '京东' (expected taobao or tmall)"),
        (9, 12, "undecodable bytes in the conversation, agent or time column"),
    ]
    assert rejects[0]["raw"] == ["亲这个能便宜点吗", "buyer", "c1", "", "", "", "", ""]
    assert rejects[3]["raw"]["text"] == "\\xc4\\xe3\\xba\\xc3\\xc2\\xf0"
    assert rejects[5]["raw"]["agent_id"] == "a\\xff8"
    records = jsonl(out)
    assert [(r["row"], r["text"]) for r in records] == [
        (1, "在吗"),
        (2, "亲，在的\n请问有什么可以帮您"),
        (8, "亲，明天肯定能到哦"),
        (10, "好的谢谢"),
    ]
    # Nothing dropped: every record is in exactly one of the two files.
    assert sorted([r["row"] for r in records] + [r["row"] for r in rejects]) == list(range(1, 11))


def test_every_kind_of_malformed_jsonl_line_is_rejected_and_the_rest_scored(
    tmp_path: Path,
) -> None:
    lines = [
        b'{"text": "\xe5\x9c\xa8\xe5\x90\x97", "role": "buyer", "conversation_id": 1001}',
        b'{"text": "\xff\xfe", "role": "buyer"}',
        b'{"text": "\xe5\x9c\xa8\xe5\x90\x97", "role": ',
        b"[1, 2, 3]",
        b"",
        b'{"text": 12345, "role": "buyer"}',
        b'{"text": "\xe5\x9c\xa8\xe5\x90\x97", "conversation_id": ["c1", "c2"]}',
        b'{"text": "\xe5\x9c\xa8\xe5\x90\x97", "agent_id": true}',
        b'{"message": "\xe5\x9c\xa8\xe5\x90\x97"}',
        '{"text": "亲，明天肯定能到哦", "role": "agent", "agent_id": 7}'.encode(),
    ]
    source = tmp_path / "log.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    summary = ok(source, "-o", out)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (9, 2, 7)
    rejects = jsonl(tmp_path / "out.rejects.jsonl")
    assert [(r["row"], r["line"]) for r in rejects] == [
        (2, 2),
        (3, 3),
        (4, 4),
        (5, 6),
        (6, 7),
        (7, 8),
        (8, 9),
    ]
    reasons = [r["reason"] for r in rejects]
    assert reasons[0] == "undecodable bytes (not UTF-8)"
    assert reasons[1].startswith("invalid JSON")
    assert reasons[2] == "not a JSON object"
    assert reasons[3] == "text is not a string but int"
    assert reasons[4] == (
        "a list where a text or number belongs in the conversation, agent or time column"
    )
    assert reasons[5] == (
        "a bool where a text or number belongs in the conversation, agent or time column"
    )
    assert reasons[6] == "missing text"
    records = jsonl(out)
    assert [(r["row"], r["conversation_id"], r["agent_id"]) for r in records] == [
        (1, "1001", None),
        (9, None, "7"),
    ]


def test_the_rejects_option_sets_where_rejects_go(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "log.csv", [["在吗", "buyer"], ["在吗", "boss"]], header=("text", "role")
    )
    rejects = tmp_path / "bad" / "lines.jsonl"
    rejects.parent.mkdir()
    summary = ok(source, "-o", tmp_path / "out.jsonl", "--rejects", rejects)
    assert summary["rejects"] == str(rejects)
    assert [r["row"] for r in jsonl(rejects)] == [2]
    assert not (tmp_path / "out.rejects.jsonl").exists()


def test_a_clean_run_does_not_mention_rejects(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "log.csv", [["在吗"]], header=("text",))
    summary = ok(source, "-o", tmp_path / "out.jsonl")
    assert summary["rejects"] is None
    assert (tmp_path / "out.rejects.jsonl").read_bytes() == b""


# --- columns --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["log.csv", "log.jsonl", "log.parquet"])
def test_a_missing_text_column_fails_at_once_naming_the_columns_found(
    tmp_path: Path, name: str
) -> None:
    source = write_log(tmp_path / name, [{"message": "在吗", "speaker": "buyer"}] * 3)
    out = tmp_path / "out.jsonl"
    error = failed(2, source, "-o", out)
    assert "no column 'text'" in error
    assert "columns found: 'message', 'speaker'" in error
    assert "--text-col" in error
    assert not out.exists()
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_a_missing_column_leaves_no_files_behind(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", [{"message": "在吗", "speaker": "buyer"}])
    failed(2, source, "-o", tmp_path / "out.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_a_role_column_that_does_not_exist_fails(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(2, source, "-o", tmp_path / "out.jsonl", "--role-col", "speaker")
    assert "no column 'speaker'" in error
    assert "columns found: 'text', 'role', 'conversation_id'" in error


def test_custom_column_names_are_used(tmp_path: Path) -> None:
    header = ("消息内容", "发送方", "会话ID", "客服账号", "发送时间", "店铺类型")
    rows = [[r[c] for c in HEADER] for r in LOG]
    source = write_csv(tmp_path / "log.csv", rows, header=header)
    out = tmp_path / "out.jsonl"
    ok(
        source,
        "-o",
        out,
        "--text-col",
        "消息内容",
        "--role-col",
        "发送方",
        "--conversation-col",
        "会话ID",
        "--agent-col",
        "客服账号",
        "--time-col",
        "发送时间",
        "--shop-type-col",
        "店铺类型",
    )
    expected = tmp_path / "expected.jsonl"
    ok(write_log(tmp_path / "plain.csv", LOG), "-o", expected)
    assert out.read_bytes() == expected.read_bytes()


def test_without_a_role_column_every_line_is_a_buyer_message(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "log.csv",
        [["在吗", "c1"], ["亲，明天肯定能到哦", "c1"], ["什么时候发货呀", "c1"]],
        header=("text", "conversation_id"),
    )
    out = tmp_path / "out.jsonl"
    ok(source, "-o", out)
    records = jsonl(out)
    assert [r["role"] for r in records] == ["buyer"] * 3
    assert all(r["intent"] and r["verdict"] is None for r in records)


# --- output formats and order -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.ndjson"])
def test_every_output_format_holds_the_same_records(
    tmp_path: Path, reference: bytes, name: str
) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    out = tmp_path / name
    ok(source, "-o", out)
    expected = [json.loads(line) for line in reference.decode().splitlines()]
    got = read_output(out) if out.suffix != ".ndjson" else jsonl(out)
    assert got == expected
    assert not (tmp_path / f"{name}.partial").exists()


def test_csv_output_opens_as_utf8_with_a_bom(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    out = tmp_path / "out.csv"
    ok(source, "-o", out)
    data = out.read_bytes()
    assert data.startswith("\ufeffrow,role,".encode())
    assert "亲这个能便宜点吗" in data.decode("utf-8-sig")


def big_log(lines: int) -> Iterator[list[str]]:
    """A day of chat: many distinct messages, many repeats, a few bad lines."""
    buyer = [
        "在吗",
        "亲这个能便宜点吗",
        "什么时候发货呀",
        "{h}/{w}斤穿什么码",
        "新疆包邮吗",
        "有{c}色的吗",
        "能用花呗吗",
        "好的谢谢",
        "衣服破了个洞",
        "发什么快递",
    ]
    agent = [
        "亲，明天肯定能到哦",
        "加我微信{h}",
        f"有问题请打{PHONE}",
        "亲，已经帮您备注了哦",
        "亲，{h}的话建议拍M码哦",
    ]
    for i in range(lines):
        h, w, c = 150 + i % 40, 90 + (i // 40) % 70, "红黄蓝绿白黑"[i % 6]
        conversation, time = f"c{i // 6}", f"2026-11-11 {10 + i // 3600:02d}:{i // 60 % 60:02d}:00"
        if i % 997 == 500:
            yield ["在吗", "boss", conversation, "", time, ""]
        elif i % 3 == 2:
            yield [agent[i % 5].format(h=h), "agent", conversation, f"a{i % 7}", time, ""]
        else:
            yield [
                buyer[(i // 3 + i) % 10].format(h=h, w=w, c=c),
                "buyer",
                conversation,
                "",
                time,
                "",
            ]


def run_console_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``quickphrase ...`` as a real process (worker processes need one)."""
    exe = shutil.which("quickphrase", path=str(Path(sys.executable).parent))
    assert exe, "the console script sits beside the interpreter"
    return subprocess.run(
        [exe, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def day_of_chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 lines, about three blocks, so two workers score blocks side by side."""
    folder = tmp_path_factory.mktemp("day")
    return write_csv(folder / "log.csv", list(big_log(6000)))


def test_two_workers_write_the_same_bytes_in_input_order(tmp_path: Path, day_of_chat: Path) -> None:
    one = tmp_path / "one.jsonl"
    summary = ok(day_of_chat, "-o", one, "--workers", "1")
    assert (summary["read"], summary["rejected"]) == (6000, 6)

    two = tmp_path / "two.jsonl"
    done = run_console_script("batch", day_of_chat, "-o", two, "--workers", "2")
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()  # the summary only: no bar when stderr is a pipe
    match = SUMMARY.match(line)
    assert match, line
    assert (match["read"], match["scored"], match["rejected"]) == ("6,000", "5,994", "6")
    assert not any(c in line for c in BAR_CHARACTERS)

    assert two.read_bytes() == one.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no spilled parts left behind
        "one.jsonl", "one.rejects.jsonl", "two.jsonl", "two.rejects.jsonl"
    ]
    assert (tmp_path / "two.rejects.jsonl").read_bytes() == (
        tmp_path / "one.rejects.jsonl"
    ).read_bytes()
    records = jsonl(two)
    rejected = [r["row"] for r in jsonl(tmp_path / "two.rejects.jsonl")]
    assert [r["row"] for r in records] == [n for n in range(1, 6001) if n not in rejected]
    texts = [r[0] for r in big_log(6000)]
    assert [r["text"] for r in records] == [texts[r["row"] - 1] for r in records]


def test_two_workers_write_the_same_parquet_table(tmp_path: Path, day_of_chat: Path) -> None:
    one = tmp_path / "one.parquet"
    ok(day_of_chat, "-o", one, "--workers", "1")
    two = tmp_path / "two.parquet"
    done = run_console_script("batch", day_of_chat, "-o", two, "--workers", "2")
    assert done.returncode == 0, done.stderr
    first, second = pq.read_table(one), pq.read_table(two)
    assert second.num_rows == 5994
    assert second.equals(first)


def fail_scoring_on_call(monkeypatch: pytest.MonkeyPatch, call: int, message: str) -> list[int]:
    """Make ``Scorer.score`` raise ``message`` on its ``call``-th chunk; returns
    the sizes of the chunks it was given."""
    sizes: list[int] = []
    score = Scorer.score

    def failing(self: Scorer, rows: Sequence[Row | Reject]) -> list[dict[str, Any] | Reject]:
        sizes.append(len(rows))
        if len(sizes) == call:
            raise RuntimeError(message)
        return score(self, rows)

    monkeypatch.setattr(Scorer, "score", failing)
    return sizes


@pytest.mark.parametrize(
    ("log_name", "out_name"),
    [("log.csv", "out.jsonl"), ("log.tsv", "out.csv"), ("log.jsonl", "out.jsonl"),
     ("log.txt", "out.jsonl")],
)
def test_workers_parse_their_own_blocks_and_write_what_one_process_writes(
    tmp_path: Path, engine: Engine, log_name: str, out_name: str
) -> None:
    log = [*LOG, {"text": "", "role": "buyer"}, {"text": "亲,第一行\n第二行", "role": "buyer"}]
    source = write_log(tmp_path / log_name, log * 40)
    written = {}
    for workers in (1, 2):
        folder = tmp_path / f"{workers}-workers"
        out = folder / out_name
        rejects = folder / "rejects.jsonl"
        job = BatchJob(input=source, output=out, rejects=rejects, workers=workers, block_bytes=200)
        summary = run_local(job, engine=engine)
        written[workers] = (summary.lines_read, out.read_bytes(), rejects.read_bytes())
        assert sorted(p.name for p in folder.iterdir()) == sorted([out_name, "rejects.jsonl"])
    assert written[2] == written[1]


def test_a_worker_that_fails_leaves_no_output_and_no_spilled_parts(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_log(tmp_path / "log.csv", LOG * 50)
    out = tmp_path / "out" / "scored.jsonl"
    # Counted per worker: forked workers inherit the patch.
    fail_scoring_on_call(monkeypatch, 3, "a worker failed")
    job = BatchJob(
        input=source, output=out, rejects=default_rejects(out), workers=2, block_bytes=300
    )
    with pytest.raises(RuntimeError, match="a worker failed"):
        run_local(job, engine=engine)
    assert list(out.parent.iterdir()) == []


def test_cache_size_zero_gives_the_same_output(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "log.csv", list(big_log(1500)))
    ok(source, "-o", tmp_path / "cached.jsonl")
    ok(source, "-o", tmp_path / "uncached.jsonl", "--cache-size", "0")
    assert (tmp_path / "cached.jsonl").read_bytes() == (tmp_path / "uncached.jsonl").read_bytes()


def test_a_200000_character_message_does_not_break_the_run(tmp_path: Path) -> None:
    big = "亲这个能便宜点吗" * 25_000
    source = write_csv(tmp_path / "log.csv", [["在吗"], [big], ["好的谢谢"]], header=("text",))
    out = tmp_path / "out.jsonl"
    summary = ok(source, "-o", out)
    assert (summary["read"], summary["scored"]) == (3, 3)
    records = jsonl(out)
    assert records[1]["text"] == big
    assert records[1]["intent"] == "bargaining"


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_a_header_only_log_gives_an_empty_output(tmp_path: Path, name: str) -> None:
    source = write_csv(tmp_path / "log.csv", [])
    out = tmp_path / name
    summary = ok(source, "-o", out)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (0, 0, 0)
    assert read_output(out) == []


def test_an_empty_text_file_gives_an_empty_output(tmp_path: Path) -> None:
    source = tmp_path / "messages.txt"
    source.write_bytes(b"")
    out = tmp_path / "out.jsonl"
    summary = ok(source, "-o", out)
    assert summary["read"] == 0
    assert out.read_bytes() == b""


# --- errors ---------------------------------------------------------------------------------


def test_a_missing_input_file_exits_2(tmp_path: Path) -> None:
    error = failed(2, tmp_path / "nope.csv", "-o", tmp_path / "out.jsonl")
    assert "nope.csv" in error
    assert "no such file" in error
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--input-format", "xlsx"], "unknown input format 'xlsx'"),
        (["--encoding", "klingon"], "unknown encoding 'klingon'"),
        (["--shop-type", "jd"], "unknown shop type 'jd'"),
        (["-k", "0"], "-k must be between 1 and"),
        (["-k", "99"], "-k must be between 1 and"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--cache-size", "-1"], "--cache-size cannot be negative"),
        (["--engine", "hadoop"], "unknown engine 'hadoop'"),
    ],
)
def test_bad_option_values_exit_2(tmp_path: Path, options: list[str], message: str) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(2, source, "-o", tmp_path / "out.jsonl", *options)
    assert message in error
    assert not (tmp_path / "out.jsonl").exists()


def test_several_bad_options_are_reported_together(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(2, source, "-o", tmp_path / "out.jsonl", "--shop-type", "jd", "-k", "0")
    assert "unknown shop type 'jd'" in error
    assert "-k must be between" in error


def test_a_uri_needs_the_spark_engine(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(2, source, "-o", "s3a://bucket/scored/out.jsonl")
    assert "--engine spark" in error


def test_an_input_extension_that_says_nothing_exits_2(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG).rename(tmp_path / "log.xls")
    error = failed(2, source, "-o", tmp_path / "out.jsonl")
    assert "--input-format" in error


@pytest.mark.parametrize("name", ["out.txt", "out.xlsx", "out"])
def test_an_output_extension_that_says_nothing_exits_2(tmp_path: Path, name: str) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(2, source, "-o", tmp_path / name)
    assert "cannot tell the output format" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_utf16_input_exits_2_with_advice(tmp_path: Path) -> None:
    source = tmp_path / "log.csv"
    source.write_bytes(b"\xff\xfe" + "text\n在吗\n".encode("utf-16-le"))
    assert "UTF-16" in failed(2, source, "-o", tmp_path / "out.jsonl")


def test_an_unusable_model_exits_3(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(3, source, "-o", tmp_path / "out.jsonl", "--model", tmp_path)
    assert "intent.onnx" in error
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unknown_rule_to_disable_exits_3(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    error = failed(3, source, "-o", tmp_path / "out.jsonl", "--disable-rule", "no_such_rule")
    assert "no_such_rule" in error


def test_an_unwritable_rejects_path_leaves_no_partial_output(tmp_path: Path) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    out = tmp_path / "out.jsonl"
    # A directory cannot be made under a file, so the rejects path is unwritable.
    error = failed(2, source, "-o", out, "--rejects", source / "r.jsonl")
    assert "cannot write" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_the_rejects_file_never_overwrites_the_input(tmp_path: Path) -> None:
    source = tmp_path / "out.rejects.jsonl"  # lines fixed by hand, scored again
    source.write_text('{"text": "在吗"}\n{"text": "好的谢谢"}\n', encoding="utf-8")
    before = source.read_bytes()
    batch(source, "-o", tmp_path / "out.jsonl")
    assert source.read_bytes() == before


# --- the local engine as a library ------------------------------------------------------------


def test_run_local_returns_the_summary(tmp_path: Path, engine: Engine) -> None:
    source = write_log(tmp_path / "log.csv", [*LOG, {"text": "", "role": "buyer"}])
    out = tmp_path / "out.jsonl"
    job = BatchJob(input=source, output=out, rejects=default_rejects(out), chunk_rows=4)
    summary = run_local(job, engine=engine)
    assert (summary.lines_read, summary.scored, summary.rejected) == (len(LOG) + 1, len(LOG), 1)
    assert summary.engine == "local"
    assert summary.source == str(source)
    assert summary.seconds > 0
    assert [r["row"] for r in jsonl(out)] == list(range(1, len(LOG) + 1))


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_a_run_that_fails_half_way_leaves_no_output(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    out = tmp_path / name
    job = BatchJob(input=source, output=out, rejects=default_rejects(out), chunk_rows=3)
    # A worker dying, a full disk...
    chunks = fail_scoring_on_call(monkeypatch, 2, "scoring failed half way")
    with pytest.raises(RuntimeError, match="half way"):
        run_local(job, engine=engine)
    assert chunks == [3, 3]  # the first chunk had been scored and written
    assert not out.exists()
    assert not (tmp_path / f"{name}.partial").exists()


# --- progress -------------------------------------------------------------------------------


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "log.csv", list(big_log(300)))
    result = batch(source, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0
    assert len(result.stderr.splitlines()) == 1
    assert not any(c in result.output for c in BAR_CHARACTERS)


def test_the_progress_bar_is_silent_on_a_non_terminal_console() -> None:
    stream = io.StringIO()
    bar = BarProgress(Console(file=stream, force_terminal=False))
    bar.start(1000)
    bar.update(500, 1234)
    bar.stop()
    assert stream.getvalue() == ""


def test_the_progress_bar_shows_lines_and_lines_per_second_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = BarProgress(Console(file=stream, force_terminal=True, width=140))
    bar.start(1000)
    bar.update(500, 12345)
    bar.stop()
    shown = stream.getvalue()
    assert "scoring" in shown
    assert "12,345 lines" in shown
    assert "lines/s" in shown
    assert "50%" in shown


def test_run_local_drives_the_progress_bar_to_the_end(tmp_path: Path, engine: Engine) -> None:
    source = write_log(tmp_path / "log.csv", LOG)
    out = tmp_path / "out.jsonl"
    stream = io.StringIO()
    job = BatchJob(input=source, output=out, rejects=default_rejects(out), chunk_rows=4)
    run_local(job, BarProgress(Console(file=stream, force_terminal=True, width=140)), engine=engine)
    shown = stream.getvalue()
    assert "100%" in shown
    assert f"{len(LOG)} lines" in shown
