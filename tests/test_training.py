"""Training from the CLI: evaluation reports and a shop's own data."""

import json

from typer.testing import CliRunner

from quickphrase.model import IntentClassifier
from quickphrase.service.cli import app

runner = CliRunner()

# A shop that sells made-to-measure curtains and gets asked about measuring.
SHOP_ROWS = [
    "窗帘上门测量吗", "能派人来量尺寸吗", "你们提供上门量窗吗", "测量师傅什么时候来",
    "要自己量还是你们来量", "上门测量收费吗", "可以预约量尺吗", "量窗户要怎么预约",
    "我家在浦东 能上门量吗", "师傅能周末来测量不", "测量是免费的吗", "量尺寸的师傅几点到",
    "请问有上门测量服务没", "可以帮忙量一下飘窗吗", "预约测量要提前几天", "测量完多久出方案",
    "能先来量再下单吗", "量窗师傅今天还来吗", "上门量尺要交定金吗", "你们量窗覆盖杭州吗",
]  # fmt: skip


def test_train_with_shop_data_adds_a_new_intent(tmp_path) -> None:
    data = tmp_path / "shop.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "intent": "measuring"}, ensure_ascii=False) + "\n"
            for t in SHOP_ROWS
        ),
        encoding="utf-8",
    )
    out = tmp_path / "model"
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(out), "--no-search"])
    assert result.exit_code == 0, result.output
    clf = IntentClassifier(out)
    assert "measuring" in clf.labels
    assert clf.metadata["extra_data"] == ["shop.jsonl"]
    assert clf.predict("你们能上门帮我量一下窗户吗").intent == "measuring"
    assert clf.predict("新疆包邮吗").intent == "shipping_fee"

    cli = runner.invoke(app, ["classify", "--model", str(out), "--json", "师傅能上门测量窗帘吗"])
    assert json.loads(cli.stdout)["intent"] == "measuring"


def _train_on(tmp_path, jsonl: str):
    data = tmp_path / "shop.jsonl"
    data.write_text(jsonl, encoding="utf-8")
    return runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "m")])


def test_train_rejects_malformed_shop_data(tmp_path) -> None:
    result = _train_on(tmp_path, '{"text": "在吗"}\n')
    assert result.exit_code == 2
    assert "shop.jsonl:1" in result.stderr
    assert not (tmp_path / "m" / "intent.onnx").exists()


def test_evaluate_writes_reports(tmp_path) -> None:
    result = runner.invoke(app, ["evaluate", "--out", str(tmp_path), "--no-cv"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["dev"]["accuracy"] >= 0.93
    assert set(metrics["per_intent"]) >= {"bargaining", "refund", "other"}
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert "bargaining" in (tmp_path / "confusion.txt").read_text()
    errors = [
        json.loads(line) for line in (tmp_path / "misclassified.jsonl").read_text().splitlines()
    ]
    assert all(e["gold"] != e["predicted"] for e in errors)


def test_a_new_intent_needs_enough_examples(tmp_path) -> None:
    result = _train_on(tmp_path, '{"text": "上门测量吗", "intent": "measuring"}\n')
    assert result.exit_code == 2
    assert "measuring (1)" in result.stderr


def test_an_unwritable_output_fails_before_training(tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = runner.invoke(app, ["train", "--out", str(blocker / "model"), "--no-search"])
    assert result.exit_code == 2
    assert "cannot write the model" in result.stderr
    assert "corpus:" not in result.stderr  # nothing was fitted

    result = runner.invoke(app, ["evaluate", "--no-cv", "--out", str(blocker / "reports")])
    assert result.exit_code == 2
    assert "cannot write reports" in result.stderr
