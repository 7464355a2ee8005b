"""The shipped corpus: enough, distinct, held-out data for every intent."""

import json
from collections import Counter

import pytest

from quickphrase.model.normalize import normalize
from quickphrase.training.corpus import (
    DEV_FILE,
    MULTI_FILE,
    TRAIN_DIR,
    Corpus,
    CorpusError,
    dedup_key,
    deduplicate,
    load_examples,
)

from .test_classifier import INTENT_IDS


def test_every_intent_has_150_distinct_training_messages(corpus: Corpus) -> None:
    counts = Counter(ex.intent for ex in corpus.train)
    assert set(counts) == INTENT_IDS
    assert min(counts.values()) >= 150, counts


def test_dev_set_has_25_per_intent_and_40_multi_intent_messages(corpus: Corpus) -> None:
    counts = Counter(ex.intent for ex in corpus.dev)
    assert set(counts) == INTENT_IDS
    assert min(counts.values()) >= 25, counts
    assert len(corpus.multi) >= 40
    assert all(len(set(m.intents)) >= 2 for m in corpus.multi)
    assert all(set(m.intents) <= INTENT_IDS - {"other"} for m in corpus.multi)


def test_no_dev_message_is_trained_on(corpus: Corpus) -> None:
    held_out = {ex.key for ex in corpus.dev} | {dedup_key(m.text) for m in corpus.multi}
    assert not held_out & {ex.key for ex in corpus.train}


def test_training_files_are_almost_free_of_duplicates_after_normalisation() -> None:
    raw = load_examples(sorted(TRAIN_DIR.glob("*.jsonl")))
    assert len(deduplicate(raw)) >= 0.98 * len(raw)


def test_variants_of_one_message_share_a_key_but_bare_emoticons_do_not() -> None:
    assert dedup_key("包邮吗？[微笑]") == dedup_key("包郵嗎") == dedup_key("包邮吗")
    assert dedup_key("[大哭][大哭]") != dedup_key("。。。")


def test_a_byte_order_mark_is_accepted(tmp_path) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + '{"text": "在吗", "intent": "greeting"}\n'.encode())
    assert [ex.intent for ex in load_examples([path])] == ["greeting"]


def test_corpus_files_are_jsonl_with_text_and_label() -> None:
    for path in [*TRAIN_DIR.glob("*.jsonl"), DEV_FILE, MULTI_FILE]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            assert isinstance(row["text"], str)
            assert row["text"].strip()
            labels = [row["intent"]] if "intent" in row else row["intents"]
            assert set(labels) <= INTENT_IDS, line


def test_corpus_covers_real_chat_styles(corpus: Corpus) -> None:
    texts = [ex.text for ex in corpus.train]

    def share(pred) -> float:
        return sum(map(pred, texts)) / len(texts)

    assert (
        share(lambda t: normalize(t) != t.lower() and any("\u4e00" <= c <= "\u9fff" for c in t))
        > 0.1
    )
    assert share(lambda t: "/:" in t or "[" in t) > 0.05  # 旺旺 codes and tags
    assert share(lambda t: any(c.isdigit() for c in t)) > 0.1  # numbers and units
    assert share(lambda t: any("a" <= c.lower() <= "z" for c in t)) > 0.05  # ok, yf, xl...


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"text": "\xe5\x9c\xa8\xe5\x90\x97"}', "'intent'"),
        (b'{"intent": "greeting"}', "'text'"),
        (b'{"text": "", "intent": "greeting"}', "'text'"),
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"text": "\xff", "intent": "x"}', "UTF-8"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, line: bytes, message: str) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_bytes(b'{"text": "ok", "intent": "closing"}\n' + line + b"\n")
    with pytest.raises(CorpusError, match=rf"shop\.jsonl:2: .*{message}"):
        load_examples([path])


def test_one_text_with_two_labels_is_an_error(tmp_path) -> None:
    path = tmp_path / "shop.jsonl"
    rows = [
        {"text": "包邮吗", "intent": "shipping_fee"},
        {"text": "包郵嗎？", "intent": "bargaining"},
    ]
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    with pytest.raises(CorpusError, match=r"shop\.jsonl:2"):
        deduplicate(load_examples([path]))
