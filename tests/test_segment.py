"""Segmentation: jieba words with the e-commerce dictionary, and clauses."""

import os
import random

import pytest

from quickphrase.model import Segmenter, normalize
from quickphrase.model import segment as segment_module


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


@pytest.mark.parametrize("word", ["包邮", "运费险", "七天无理由", "仅退款", "顺丰", "花呗"])
def test_ecommerce_words_stay_whole(segmenter: Segmenter, word: str) -> None:
    assert word in segmenter.words(f"亲这个{word}吗").split(" ")


def test_clauses_split_on_punctuation_spaces_and_openers(segmenter: Segmenter) -> None:
    seg = segmenter.segment(normalize("能便宜点吗?包邮吗 另外发票怎么开"))
    assert seg.clauses == ("能 便宜 点 吗", "包邮 吗", "另外 发票 怎么 开")


@pytest.mark.parametrize(
    "text",
    [
        "有货吗…包邮吗",
        "有货吗——包邮吗",
        "有货吗还想问包邮吗",
        "有货吗顺便问一下包邮吗",
        "【有货吗】包邮吗",
    ],
)
def test_every_clause_break_splits(segmenter: Segmenter, text: str) -> None:
    clauses = segmenter.segment(normalize(text)).clauses
    assert len(clauses) == 2
    assert clauses[-1].endswith("包邮 吗")


def test_short_fragments_join_a_neighbour(segmenter: Segmenter) -> None:
    seg = segmenter.segment(normalize("亲, 在吗 [微笑]"))
    assert seg.clauses == ("亲 在吗 emo",)


def test_words_are_the_clauses_joined(segmenter: Segmenter, corpus) -> None:
    for ex in corpus.dev:
        seg = segmenter.segment(normalize(ex.text))
        assert seg.words == " ".join(seg.clauses)
        assert segmenter.words(normalize(ex.text)) == seg.words
        assert "  " not in seg.words


def test_punctuation_only_has_no_words(segmenter: Segmenter) -> None:
    assert segmenter.segment(normalize("？？？。。。")).words == ""


def test_a_long_running_segmenter_remembers_a_bounded_number_of_tokens(monkeypatch) -> None:
    from quickphrase.model import segment

    monkeypatch.setattr(segment, "_MAX_REMEMBERED", 5)
    fresh, reference = Segmenter(), Segmenter()
    texts = [f"订单{n}号 另外 {n * 7}元包邮吗?" for n in range(40)]
    for text in texts:
        assert fresh.segment(text) == reference.segment(text)
    assert len(fresh._kinds) == 5
    # Tokens past the cap are still classified, just not remembered.
    assert fresh.segment("订单999号,包邮吗").clauses == ("订单 999 号", "包邮 吗")


# -- the native cutter: jieba's dictionary cut, compiled ---------------------

native_only = pytest.mark.skipif(
    not segment_module.NATIVE_AVAILABLE, reason="the native cutter was not built"
)


@pytest.fixture(scope="module")
def jieba_segmenter() -> Segmenter:
    return Segmenter(native=False)


@native_only
def test_the_native_cutter_serves_by_default(segmenter: Segmenter) -> None:
    assert segmenter.native is True
    assert Segmenter(hmm=True).native is False


@native_only
def test_the_native_cutter_cuts_every_corpus_message_as_jieba_does(
    segmenter: Segmenter, jieba_segmenter: Segmenter, corpus
) -> None:
    texts = [ex.text for ex in (*corpus.train, *corpus.dev)]
    for text in texts:
        for form in (text, normalize(text)):
            assert segmenter.cut(form) == jieba_segmenter.cut(form), form


@native_only
def test_the_native_cutter_matches_jieba_on_random_mixed_text(
    segmenter: Segmenter, jieba_segmenter: Segmenter, corpus
) -> None:
    # Dictionary characters mixed with everything jieba treats specially:
    # ASCII letters and digits (glued back together), +#&._%- (inside a run),
    # \r\n (one token), other spaces, symbols and characters outside the BMP.
    rng = random.Random(20261123)
    alphabet = sorted({ch for ex in corpus.dev for ch in ex.text})
    alphabet += list("abcXYZ0189+#&._%-\r\n \t\u3000,?😀é鿕鿖")
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert segmenter.cut(text) == jieba_segmenter.cut(text), text


@native_only
def test_native_clause_splitting_agrees_with_the_python_reference(
    segmenter: Segmenter, jieba_segmenter: Segmenter, corpus
) -> None:
    # The jieba segmenter groups clauses in Python (segment._split_clauses),
    # the default one with the compiled split_clauses.
    for ex in (*corpus.train, *corpus.dev, *corpus.multi):
        text = normalize(ex.text)
        assert segmenter.segment(text) == jieba_segmenter.segment(text), text
    # Random pieces: clause breaks, openers, markers (which do not count
    # towards a clause's length), one-character fragments and dropped symbols.
    rng = random.Random(1123)
    pieces = [
        "亲", "在吗", "包邮吗", "能便宜点吗", "x", "ok", "99", "emo", "img", "url", "media",
        "另外", "顺便问下", " ", ",", "?", "。", "~", "、", "\n", "*", "@", "☆", "吗",
    ]  # fmt: skip
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert segmenter.segment(text) == jieba_segmenter.segment(text), text


@native_only
def test_the_native_cutter_handles_a_run_longer_than_its_buffer(
    segmenter: Segmenter, jieba_segmenter: Segmenter
) -> None:
    text = "亲这款羽绒服还有货吗能不能便宜点包邮吗" * 300 + "ok"
    assert segmenter.cut(text) == jieba_segmenter.cut(text)


@native_only
def test_the_native_cutter_takes_a_dictionary_without_its_prefixes() -> None:
    # jieba lists every prefix of a word; a bare word list makes the trie
    # outgrow its first table, which must then grow without losing words.
    words = {f"{chr(0x4E00 + i)}{chr(0x5E00 + i)}{chr(0x6E00 + i)}": 5 for i in range(3000)}
    cutter = segment_module.DagCutter(words, 15_000)
    assert cutter.size == 1 + 3 * 3000
    text = "".join(list(words)[:3]) + "x"
    assert cutter.cut(text) == [*list(words)[:3], "x"]


@native_only
@pytest.mark.parametrize(
    ("freq", "total", "message"),
    [({"包邮": -1}, 10, "negative count"), ({"包邮": 1}, 0, "total count must be positive")],
)
def test_the_native_cutter_rejects_a_broken_dictionary(freq, total, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        segment_module.DagCutter(freq, total)


def test_the_native_cutter_has_no_hmm() -> None:
    with pytest.raises(ValueError, match="no HMM"):
        Segmenter(hmm=True, native=True)


def test_asking_for_the_native_cutter_without_it_says_how_to_get_it(monkeypatch) -> None:
    monkeypatch.setattr(segment_module, "DagCutter", None)
    monkeypatch.setattr(segment_module, "NATIVE_AVAILABLE", False)
    with pytest.raises(ImportError, match="C compiler"):
        Segmenter(native=True)
    fallback = Segmenter()
    assert fallback.native is False
    assert fallback.words("亲这个包邮吗") == "亲 这个 包邮 吗"


@pytest.mark.skipif(
    os.environ.get("QUICKPHRASE_REQUIRE_NATIVE") != "1",
    reason="set QUICKPHRASE_REQUIRE_NATIVE=1 where the install must compile the cutter (CI)",
)
def test_the_install_compiled_the_native_cutter() -> None:
    assert segment_module.NATIVE_AVAILABLE
