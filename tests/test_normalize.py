"""Normalisation: what the classifier sees of a buyer message."""

import pytest

from quickphrase.model.normalize import canonical_chars, normalize


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
