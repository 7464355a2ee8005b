"""The quickphrase command line, as a user types it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quickphrase.service.cli import app

runner = CliRunner()


def run(*args: str, input: bytes | None = None):
    return runner.invoke(app, list(args), input=input)


def test_classify_prints_intent_and_confidence() -> None:
    result = run("classify", "亲,能便宜点吗")
    assert result.exit_code == 0
    intent, confidence, _ = result.stdout.strip().split("\t")
    assert intent == "bargaining"
    assert 0.0 <= float(confidence) <= 1.0


def test_classify_json_is_one_object_with_the_contract_keys() -> None:
    result = run("classify", "--json", "能便宜点吗?包邮吗?")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) == {"text", "intent", "confidence", "intents"}
    assert [i["intent"] for i in out["intents"]] == ["bargaining", "shipping_fee"]


def test_classify_file_streams_one_object_per_line_in_order(tmp_path) -> None:
    lines = ["在吗", "新疆包邮吗", "好的谢谢", "衣服破了个洞"]
    path = tmp_path / "messages.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("classify", "--file", str(path), "--json")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == lines
    assert [r["intent"] for r in rows] == ["greeting", "shipping_fee", "closing", "quality_issue"]


def test_bad_lines_are_reported_by_number_and_nothing_is_dropped(tmp_path) -> None:
    path = tmp_path / "messages.txt"
    path.write_bytes("\ufeff在吗\n".encode() + b"\xff\xfe\n\n" + "有货吗\n".encode())
    result = run("classify", "--file", str(path), "--json")
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["intent"] == "greeting"  # a UTF-8 byte-order mark is tolerated
    assert rows[1] == {"line": 2, "error": "not valid UTF-8 (byte 1)"}
    assert rows[2] == {"line": 3, "error": "empty text"}
    assert rows[3]["intent"] == "stock"
    assert "line 2" in result.stderr


def test_classify_reads_stdin() -> None:
    result = run("classify", "--json", "--file", "-", input="在吗\n包邮吗\n".encode())
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_message_exits_2(text: str) -> None:
    result = run("classify", text)
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_undecodable_argument_exits_2() -> None:
    result = run("classify", "\udcff\udcfe在吗")  # how Python passes bytes that are not UTF-8
    assert result.exit_code == 2
    assert "UTF-8" in result.stderr


def test_message_and_file_together_is_an_error(tmp_path) -> None:
    result = run("classify", "在吗", "--file", str(tmp_path / "x.txt"))
    assert result.exit_code == 2


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    result = run("classify", "--file", str(tmp_path / "nope.txt"))
    assert result.exit_code == 2
    assert "nope.txt" in result.stderr


def test_long_message_says_it_was_truncated() -> None:
    result = run("classify", "--json", "能便宜点吗" * 1000)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["truncated"] is True
    assert "first 2000" in result.stderr


def test_missing_model_is_a_clear_error(tmp_path) -> None:
    result = run("classify", "--model", str(tmp_path), "在吗")
    assert result.exit_code == 3
    assert "intent.onnx" in result.stderr
    assert "Traceback" not in result.output


def test_console_script_is_installed() -> None:
    # The script sits beside the interpreter running the tests (a venv's bin/).
    exe = shutil.which("quickphrase", path=str(Path(sys.executable).parent))
    assert exe, "pip install puts the 'quickphrase' console script beside python"
    out = subprocess.run([exe, "classify", "--json", "发什么快递"], capture_output=True, text=True)
    assert out.returncode == 0
    assert json.loads(out.stdout)["intent"] == "shipping_fee"
