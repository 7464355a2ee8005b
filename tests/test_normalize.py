"""Normalisation: what the classifier sees of a buyer message."""

import json
from pathlib import Path

import opencc
import pytest

from quickphrase.model.normalize import (
    TRADITIONAL_CHARS_FILE,
    canonical_chars,
    normalize,
    to_simplified,
)
from quickphrase.training.opencc_triggers import phrases, triggers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("請問還有貨嗎", "请问还有货吗"),  # traditional -> simplified
        ("ＸＬ码１６５ｃｍ", "xl码165cm"),  # full-width -> half-width, lowercase
        ("包邮吗？？？", "包邮吗?"),  # repeated punctuation collapsed
        ("哈哈哈哈哈哈", "哈哈"),  # repeated characters collapsed
        ("满300减40", "满300减40"),  # digits are never collapsed
        ("  在吗 \t 亲  ", "在吗 亲"),  # whitespace folded
        ("有货吗…包邮吗", "有货吗。包邮吗"),  # an ellipsis or "." ends a sentence
        ("24.5码 1.8米", "24.5码 1.8米"),  # a decimal point does not
        ("\ud800在吗", "\ufffd在吗"),  # unpaired surrogates become U+FFFD
    ],
)
def test_canonical_text(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/:^_^亲在吗", "emo 亲在吗"),  # 旺旺 emoticon code
        ("发货了吗/:-(", "发货了吗 emo"),
        ("/:814 快点", "emo 快点"),
        ("[微笑]好的", "emo 好的"),  # bracket tag
        ("[图片]", "img"),  # image placeholder
        ("[语音]", "media"),
        ("好的👌", "好的 ok"),  # thumbs-up style emoji mean "ok"
        ("[抱拳]", "ok"),
        ("太慢了😭", "太慢了 emo"),  # other emoji
        ("看看 https://item.taobao.com/item.htm?id=1 这个", "看看 url 这个"),
    ],
)
def test_emoticons_tags_and_links_become_marker_words(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_is_idempotent_on_the_corpus(corpus) -> None:
    for ex in corpus.dev:
        once = normalize(ex.text)
        assert normalize(once) == once, ex.text


def test_canonical_chars_folds_each_character_in_place() -> None:
    # One character NFKC would expand (…, ㎡) no longer keeps the rest full-width.
    text = "亲，加我微信…电话１３８"
    folded = canonical_chars(text)
    assert folded == "亲,加我微信…电话138"
    assert len(folded) == len(text)
    assert canonical_chars("請問ＸＬ碼㎡") == "请问xl码㎡"


def test_canonical_chars_straightens_curly_apostrophes() -> None:
    # Phones type can’t; rules and hedges are written can't.
    text = "Sorry, we can’t take Venmo, it‘s Taobao only"
    folded = canonical_chars(text)
    assert folded == "sorry, we can't take venmo, it's taobao only"
    assert len(folded) == len(text)


# -- traditional characters ---------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_traditional_characters_are_rebuilt_from_the_installed_opencc() -> None:
    shipped = TRADITIONAL_CHARS_FILE.read_text(encoding="utf-8").strip()
    assert shipped == triggers(), (
        "OpenCC changed: rebuild with quickphrase.training.opencc_triggers.write_triggers"
    )


def test_every_opencc_phrase_is_converted_as_opencc_converts_it() -> None:
    """A phrase whose characters each stay as they are may still convert
    (重覆 to 重复): the skip must not keep it as typed."""
    t2s = opencc.OpenCC("t2s")
    keys = list(phrases())
    assert len(keys) > 100
    assert [to_simplified(k) for k in keys] == [t2s.convert(k) for k in keys]


def test_skipping_opencc_changes_no_text_of_ours() -> None:
    """Text without one of those characters is returned as typed; on every
    sentence in the repo that is exactly what OpenCC returns."""
    t2s = opencc.OpenCC("t2s")
    texts = [
        json.loads(line)["text"]
        for folder in ("training/data", "tests/data")
        for path in sorted((ROOT / folder).rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(texts) > 10_000
    assert [to_simplified(t) for t in texts] == [t2s.convert(t) for t in texts]


@pytest.mark.parametrize(
    "text", ["请问还有货吗", "發貨了嗎", "亲,这件著作是正版", "重覆下单了", "把墙打坏了"]
)
def test_to_simplified_agrees_with_opencc(text: str) -> None:
    assert to_simplified(text) == opencc.OpenCC("t2s").convert(text)
