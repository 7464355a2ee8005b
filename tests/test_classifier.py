"""IntentClassifier: what a caller of the engine can rely on."""

import json

import pytest

from quickphrase.model import IntentClassifier, ModelLoadError
from quickphrase.model.artifact import MODEL_ENV

INTENT_IDS = {
    "greeting", "bargaining", "stock", "size", "product_info", "shipping_eta", "shipping_fee",
    "logistics", "address_change", "refund", "exchange", "quality_issue", "invoice", "payment",
    "review", "closing", "other",
}  # fmt: skip


def test_labels_are_the_contract_intent_ids(classifier) -> None:
    assert set(classifier.labels) == INTENT_IDS


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("在吗亲", "greeting"),
        ("老板再便宜点呗", "bargaining"),
        ("黑色L码还有货吗", "stock"),
        ("165cm 110斤穿什么码", "size"),
        ("这个会掉色吗", "product_info"),
        ("衣服洗了一次就掉色了", "quality_issue"),
        ("今天下单什么时候发货", "shipping_eta"),
        ("新疆包邮吗", "shipping_fee"),
        ("快递到哪了 物流一直不动", "logistics"),
        ("地址写错了能改吗", "address_change"),
        ("不想要了 申请退款", "refund"),
        ("小了 能换大一码吗", "exchange"),
        ("能开电子发票吗", "invoice"),
        ("可以用花呗分期吗", "payment"),
        ("好评有返现吗", "review"),
        ("好的谢谢 已拍", "closing"),
        ("請問還有貨嗎", "stock"),  # traditional characters
    ],
)
def test_clear_messages_get_their_intent(classifier, text: str, intent: str) -> None:
    assert classifier.predict(text).intent == intent


def test_several_questions_are_listed_in_the_order_asked(classifier) -> None:
    pred = classifier.predict("能便宜点吗?包邮吗?")
    assert [s.intent for s in pred.intents] == ["bargaining", "shipping_fee"]
    assert pred.intent in {"bargaining", "shipping_fee"}


def test_prediction_serialises_to_the_cli_contract(classifier) -> None:
    out = classifier.predict("亲,能便宜点吗").to_dict()
    assert set(out) == {"text", "intent", "confidence", "intents"}
    assert out["text"] == "亲,能便宜点吗"
    assert 0.0 <= out["confidence"] <= 1.0
    assert out["intents"][0] == {"intent": out["intent"], "score": out["confidence"]}
    json.dumps(out, ensure_ascii=False)


@pytest.mark.parametrize("text", ["？？？", "。。。", "~~~"])
def test_punctuation_alone_is_other(classifier, text: str) -> None:
    assert classifier.predict(text).intent == "other"


def _copy_model(classifier, to, **thresholds) -> None:
    for name in ("intent.onnx", "features.json"):
        (to / name).write_bytes((classifier.model_dir / name).read_bytes())
    meta = dict(classifier.metadata)
    meta["thresholds"] = {**meta["thresholds"], **thresholds}
    (to / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def test_unsure_answers_become_other_with_its_probability(classifier, corpus, tmp_path) -> None:
    unsure = next(
        p
        for p in classifier.predict_many([ex.text for ex in corpus.dev])
        if p.intent != "other" and len(p.intents) == 1 and p.confidence < 0.99
    )
    _copy_model(classifier, tmp_path, abstain=0.99, clause=1.01)
    strict = IntentClassifier(tmp_path)
    pred = strict.predict(unsure.text)
    assert pred.intent == "other"
    p_other = strict.predict_proba([unsure.text])[0][strict.labels.index("other")]
    assert pred.confidence == pytest.approx(p_other)


def test_confidence_is_a_calibrated_probability(classifier, corpus) -> None:
    preds = classifier.predict_many([ex.text for ex in corpus.dev])
    confident = [p for p, ex in zip(preds, corpus.dev, strict=True) if p.confidence >= 0.9]
    right = sum(
        p.intent == ex.intent
        for p, ex in zip(preds, corpus.dev, strict=True)
        if p.confidence >= 0.9
    )
    assert len(confident) > len(preds) / 2
    assert right / len(confident) >= 0.9


def test_batches_keep_input_order_and_match_single_calls(classifier, corpus) -> None:
    texts = [ex.text for ex in corpus.dev[:120]]
    batch = classifier.predict_many(texts, batch_size=7)
    assert [p.text for p in batch] == texts
    assert [p.to_dict() for p in batch] == [classifier.predict(t).to_dict() for t in texts]


def test_predictions_carry_no_per_instance_dicts(classifier) -> None:
    # A batch keeps a prediction per message alive, and every object the
    # cyclic garbage collector tracks is scanned again and again: with a
    # dict per prediction and per score, a 2,000-message batch ran about 40%
    # slower.
    prediction = classifier.predict("能便宜点吗?包邮吗?")
    scores = (*prediction.intents, *prediction.ranked)
    assert len(prediction.intents) == 2
    assert len(prediction.ranked) == 3
    assert not hasattr(prediction, "__dict__")
    assert not any(hasattr(s, "__dict__") for s in scores)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused(classifier, text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        classifier.predict(text)


@pytest.mark.parametrize("value", [None, 42, b"\xe5\x9c\xa8"])
def test_non_string_is_refused(classifier, value) -> None:
    with pytest.raises(TypeError, match="string"):
        classifier.predict(value)


def test_long_text_is_classified_on_a_bounded_prefix(classifier) -> None:
    text = "亲 这个能便宜点吗 " * 1000
    pred = classifier.predict(text)
    assert pred.truncated
    assert pred.to_dict()["truncated"] is True
    assert pred.intent == "bargaining"
    assert not classifier.predict("能便宜点吗").truncated


def test_a_bad_message_in_a_batch_is_named_by_position(classifier) -> None:
    with pytest.raises(ValueError, match="message 2: text is empty"):
        classifier.predict_many(["在吗", "包邮吗", " "])
    with pytest.raises(ValueError, match="batch_size"):
        classifier.predict_many(["在吗"], batch_size=0)


def test_unpaired_surrogates_are_classified_not_crashed(classifier) -> None:
    assert classifier.predict("\ud800 有货吗").intent == "stock"


def test_missing_model_file_names_the_file(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match=r"intent\.onnx"):
        IntentClassifier(tmp_path)


def test_corrupt_model_file_names_the_file(tmp_path, classifier) -> None:
    for name in ("intent.onnx", "features.json", "metadata.json"):
        (tmp_path / name).write_bytes((classifier.model_dir / name).read_bytes())
    (tmp_path / "features.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"features\.json"):
        IntentClassifier(tmp_path)
    (tmp_path / "features.json").write_bytes((classifier.model_dir / "features.json").read_bytes())
    (tmp_path / "intent.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match=r"intent\.onnx"):
        IntentClassifier(tmp_path)


def test_model_files_that_disagree_are_refused_at_load(tmp_path, classifier) -> None:
    _copy_model(classifier, tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["labels"] = meta["labels"][:-1]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="labels"):
        IntentClassifier(tmp_path)
    del meta["thresholds"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="thresholds"):
        IntentClassifier(tmp_path)


def test_model_directory_comes_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path))
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        IntentClassifier()


def test_native_false_serves_the_pure_python_paths_with_the_same_answers(
    classifier, corpus
) -> None:
    plain = IntentClassifier(native=False)
    assert (plain.native, plain.native_cut) == (False, False)
    texts = [ex.text for ex in corpus.dev[:200]]
    for fast, slow in zip(classifier.predict_many(texts), plain.predict_many(texts), strict=True):
        assert fast.words == slow.words
        assert fast.intent == slow.intent
        assert fast.confidence == pytest.approx(slow.confidence, abs=1e-6)
