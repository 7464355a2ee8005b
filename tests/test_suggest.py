"""Suggestions and checks end to end: the engine and the `suggest`/`check` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quickphrase.engine import Engine
from quickphrase.phrases.evaluation import score_suggestions
from quickphrase.phrases.ranker import Context
from quickphrase.service.cli import app
from quickphrase.training.corpus import Corpus

runner = CliRunner()


def run(*args: str, input: bytes | None = None):
    return runner.invoke(app, list(args), input=input)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.mark.parametrize("shop", ["taobao", "tmall"])
def test_dev_set_suggestions_meet_the_targets(engine: Engine, corpus: Corpus, shop: str) -> None:
    texts = [e.text for e in corpus.dev]
    results = list(engine.suggest_many(texts, Context(shop)))
    report = score_suggestions(
        [[s.intent for s in r.suggestions] for r in results], [[e.intent] for e in corpus.dev]
    )
    assert report.top1 / report.messages >= 0.93
    assert report.top3 / report.messages >= 0.97


def test_every_suggestion_is_filled_distinct_and_compliant(engine: Engine, corpus: Corpus) -> None:
    for shop in ("taobao", "tmall"):
        for result in engine.suggest_many([e.text for e in corpus.dev[:200]], Context(shop)):
            ids = [s.phrase_id for s in result.suggestions]
            assert len(ids) == len(set(ids)) <= 3
            for s in result.suggestions:
                assert "{" not in s.text
                assert engine.check(s.text, shop).verdict != "block"


def test_engine_suggest_takes_per_request_context(engine: Engine) -> None:
    result = engine.suggest(
        "快递到哪了", order_status="shipped", variables={"tracking_no": "75312345678901"}
    )
    assert result.prediction.intent == "logistics"
    assert any("75312345678901" in s.text for s in result.suggestions)


def test_suggest_json_has_the_contract_keys() -> None:
    result = run("suggest", "亲,能便宜点吗", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"text", "intent", "intents", "suggestions"} <= set(out)
    assert out["intent"] == "bargaining"
    assert len(out["suggestions"]) == 3
    for s in out["suggestions"]:
        assert set(s) == {"phrase_id", "text", "intent", "score"}


def test_suggest_k_and_shop_type() -> None:
    result = run("suggest", "要开发票", "--json", "-k", "1", "--shop-type", "tmall")
    out = json.loads(result.stdout)
    assert len(out["suggestions"]) == 1
    assert out["suggestions"][0]["intent"] == "invoice"


def test_suggest_says_when_nothing_is_suggested() -> None:
    result = run("suggest", "[图片]")
    assert result.exit_code == 0
    assert "no suggestion" in result.stdout
    assert json.loads(run("suggest", "[图片]", "--json").stdout)["suggestions"] == []


def test_suggest_file_writes_one_object_per_line_in_order(tmp_path: Path) -> None:
    path = tmp_path / "buyers.txt"
    path.write_bytes("在吗\n\n新疆包邮吗\n".encode() + b"\xff\xfe\n")
    result = run("suggest", "--file", str(path), "--json")
    assert result.exit_code == 2  # bad lines are reported, the rest are answered
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["intent"] == "greeting"
    assert rows[1] == {"line": 2, "error": "empty text"}
    assert rows[2]["intent"] == "shipping_fee"
    assert rows[3]["line"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["suggest", "在吗", "--shop-type", "jd"], "unknown shop type"),
        (["suggest", "在吗", "-k", "0"], "-k must be"),
        (["suggest", "在吗", "--var", "nope"], "NAME=VALUE"),
        (["suggest", "在吗", "--var", "shopname=x"], "unknown variable"),
        (["suggest", "在吗", "--stage", "later"], "unknown stage"),
        (["suggest", "   "], "empty"),
        (["check", ""], "empty"),
        (["check", "在的亲", "--shop-type", "jd"], "unknown shop type"),
        (["check", "亲" * 2001], "longer than"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_broken_phrase_library_exits_3_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "pre_sale.yaml").write_text("phrases: [\n", encoding="utf-8")
    result = run("suggest", "在吗", "--phrases", str(tmp_path))
    assert result.exit_code == 3
    assert "pre_sale.yaml" in result.stderr


def test_check_json_has_the_contract_keys() -> None:
    result = run("check", "明天肯定能到", "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) == {"text", "verdict", "violations", "redacted"}
    assert out["verdict"] == "block"
    (violation,) = out["violations"]
    assert set(violation) == {"rule", "category", "severity", "start", "end", "message", "masked"}
    assert violation["category"] == "delivery_promise"


def test_check_shop_type_changes_the_invoice_verdict() -> None:
    tmall = json.loads(run("check", "我们不开发票", "--json", "--shop-type", "tmall").stdout)
    taobao = json.loads(run("check", "我们不开发票", "--json").stdout)
    assert (tmall["verdict"], taobao["verdict"]) == ("block", "pass")


def test_check_file_reports_each_line(tmp_path: Path) -> None:
    path = tmp_path / "drafts.txt"
    path.write_text("好的亲\n加我微信聊\n电话13812345678\n", encoding="utf-8")
    result = run("check", "--file", str(path), "--json")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["verdict"] for r in rows] == ["pass", "block", "block"]
    assert rows[2]["redacted"] == "电话138****5678"


def test_check_human_output_names_the_span_and_rule() -> None:
    result = run("check", "亲放心,明天肯定能到")
    assert result.exit_code == 0
    assert result.stdout.startswith("block")
    assert "「明天肯定能到」" in result.stdout
    assert "违背承诺" in result.stdout
