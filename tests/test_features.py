"""The serving featuriser reproduces scikit-learn's TF-IDF features exactly."""

import numpy as np
import pytest


def _dense(feeds: dict, width: int) -> np.ndarray:
    out = np.zeros((feeds["ids"].shape[0], width + 1))
    for r, (ids, weights) in enumerate(zip(feeds["ids"], feeds["weights"], strict=True)):
        np.add.at(out[r], ids, weights)
    return out[:, :width]


@pytest.fixture(scope="module")
def dev_rows(classifier, corpus) -> list[str]:
    odd = ["", "x", "亲", "emo emo", "a b c", "\ud800 孤"]  # edge cases, incl. a lone surrogate
    return [classifier.prepare(ex.text).words for ex in corpus.dev] + odd


def test_large_batches_match_scikit_learn(classifier, shipped_pipeline, dev_rows) -> None:
    featurizer = classifier._featurizer
    expected = shipped_pipeline.named_steps["features"].transform(dev_rows).toarray()
    got = _dense(featurizer.transform(dev_rows), featurizer.width)
    assert np.abs(got - expected).max() < 1e-6


def test_small_batches_match_scikit_learn(classifier, shipped_pipeline, dev_rows) -> None:
    featurizer = classifier._featurizer
    features = shipped_pipeline.named_steps["features"]
    for start in range(0, len(dev_rows), 3):
        rows = dev_rows[start : start + 3]
        got = _dense(featurizer.transform(rows), featurizer.width)
        assert np.abs(got - features.transform(rows).toarray()).max() < 1e-6, rows


def test_messages_give_whole_then_clause_rows(classifier, shipped_pipeline, corpus) -> None:
    featurizer = classifier._featurizer
    features = shipped_pipeline.named_steps["features"]
    messages = [classifier.prepare(m.text).clauses for m in corpus.multi]
    messages += [("a", "bc", "d"), ("退 款", "好"), ()]  # clauses shorter than an n-gram
    rows = []
    for clauses in messages:
        rows.append(" ".join(clauses))
        if len(clauses) > 1:
            rows.extend(clauses)
    expected = features.transform(rows).toarray()
    batched = _dense(featurizer.transform_messages(messages), featurizer.width)
    one_by_one = np.vstack(
        [_dense(featurizer.transform_messages([m]), featurizer.width) for m in messages]
    )
    assert np.abs(batched - expected).max() < 1e-6
    assert np.abs(one_by_one - expected).max() < 1e-6
