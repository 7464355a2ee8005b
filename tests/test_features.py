"""The serving featuriser reproduces scikit-learn's TF-IDF features exactly,
on both of its paths: the native kernel and the NumPy fallback."""

import os

import numpy as np
import pytest

from quickphrase.model import features
from quickphrase.model.artifact import read_model_files
from quickphrase.model.features import NgramFeaturizer

# Rows that stress the kernel: nothing, one character, only unknown words, a
# lone surrogate, characters outside the BMP, a NUL, n-grams repeated many
# times (sublinear tf) and a row with thousands of n-grams.
ODD_ROWS = [
    "",
    "x",
    "亲",
    "emo emo",
    "a b c",
    "\ud800 孤",
    "😀 🛒 包邮 吗",
    "\x00 退款",
    "吗 " * 40 + "吗",
    "能 便宜 点 吗 " * 300 + "包邮",
    "qwertyuiop asdfghjkl",
]


def _dense(feeds: dict, width: int) -> np.ndarray:
    out = np.zeros((feeds["ids"].shape[0], width + 1))
    for r, (ids, weights) in enumerate(zip(feeds["ids"], feeds["weights"], strict=True)):
        np.add.at(out[r], ids, weights)
    return out[:, :width]


@pytest.fixture(scope="module", params=["native", "numpy"])
def featurizer(request, classifier) -> NgramFeaturizer:
    native = request.param == "native"
    if native and not features.NATIVE_AVAILABLE:
        pytest.skip("the native kernel was not built (no C compiler at install)")
    config = read_model_files(classifier.model_dir).features
    return NgramFeaturizer.from_config(config, native=native)


@pytest.fixture(scope="module")
def dev_rows(classifier, corpus) -> list[str]:
    return [classifier.prepare(ex.text).words for ex in corpus.dev] + ODD_ROWS


@pytest.fixture(scope="module")
def sklearn_features(shipped_pipeline):
    return shipped_pipeline.named_steps["features"]


def test_large_batches_match_scikit_learn(featurizer, sklearn_features, dev_rows) -> None:
    expected = sklearn_features.transform(dev_rows).toarray()
    got = _dense(featurizer.transform(dev_rows), featurizer.width)
    assert np.abs(got - expected).max() < 1e-6


def test_small_batches_match_scikit_learn(featurizer, sklearn_features, dev_rows) -> None:
    for start in range(0, len(dev_rows), 3):
        rows = dev_rows[start : start + 3]
        got = _dense(featurizer.transform(rows), featurizer.width)
        assert np.abs(got - sklearn_features.transform(rows).toarray()).max() < 1e-6, rows


def test_messages_give_whole_then_clause_rows(
    featurizer, classifier, sklearn_features, corpus
) -> None:
    messages = [classifier.prepare(m.text).clauses for m in corpus.multi]
    messages += [("a", "bc", "d"), ("退 款", "好"), ()]  # clauses shorter than an n-gram
    rows = []
    for clauses in messages:
        rows.append(" ".join(clauses))
        if len(clauses) > 1:
            rows.extend(clauses)
    expected = sklearn_features.transform(rows).toarray()
    batched = _dense(featurizer.transform_messages(messages), featurizer.width)
    one_by_one = np.vstack(
        [_dense(featurizer.transform_messages([m]), featurizer.width) for m in messages]
    )
    assert np.abs(batched - expected).max() < 1e-6
    assert np.abs(one_by_one - expected).max() < 1e-6


def test_padding_points_past_the_last_column_with_zero_weight(featurizer) -> None:
    feeds = featurizer.transform(["包邮 吗", "在 吗 亲 能 便宜 点 吗 包邮 吗"])
    short = feeds["ids"][0] == featurizer.width
    assert short.any()
    assert (feeds["weights"][0][short] == 0).all()
    assert feeds["ids"].dtype == np.int64
    assert feeds["weights"].dtype == np.float32


def test_an_empty_batch_has_no_rows(featurizer) -> None:
    feeds = featurizer.transform([])
    assert feeds["ids"].shape[0] == 0
    assert feeds["weights"].shape[0] == 0


def test_native_is_the_default_when_built(classifier) -> None:
    assert classifier._featurizer.native is features.NATIVE_AVAILABLE


def test_asking_for_native_without_the_kernel_says_how_to_get_it(monkeypatch, classifier) -> None:
    config = read_model_files(classifier.model_dir).features
    monkeypatch.setattr(features, "_ngrams", None)
    monkeypatch.setattr(features, "NATIVE_AVAILABLE", False)
    with pytest.raises(ImportError, match="C compiler"):
        NgramFeaturizer.from_config(config, native=True)
    assert NgramFeaturizer.from_config(config).native is False


@pytest.mark.skipif(
    os.environ.get("QUICKPHRASE_REQUIRE_NATIVE") != "1",
    reason="set QUICKPHRASE_REQUIRE_NATIVE=1 where the install must compile the kernel (CI)",
)
def test_the_install_compiled_the_native_kernel() -> None:
    assert features.NATIVE_AVAILABLE
