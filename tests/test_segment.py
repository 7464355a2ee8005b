"""Segmentation: jieba words with the e-commerce dictionary, and clauses."""

import pytest

from quickphrase.model import Segmenter, normalize


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
