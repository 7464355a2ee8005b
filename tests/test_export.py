"""ONNX export: the served model computes what scikit-learn computes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from quickphrase.model import IntentClassifier
from quickphrase.model.artifact import read_model_files
from quickphrase.model.features import NgramFeaturizer
from quickphrase.training.corpus import Corpus
from quickphrase.training.pipeline import ModelConfig, build_pipeline
from quickphrase.training.train import DEFAULT_GRID, write_model


def test_bundled_onnx_matches_scikit_learn_on_the_whole_dev_set(
    classifier, corpus, shipped_pipeline, prepare
) -> None:
    texts = [ex.text for ex in corpus.dev]
    onnx_proba = classifier.predict_proba(texts)
    sklearn_proba = shipped_pipeline.predict_proba(prepare(texts))
    assert list(shipped_pipeline.classes_) == classifier.labels
    assert np.abs(onnx_proba - sklearn_proba).max() < 1e-4


@pytest.mark.parametrize(
    "config",
    [
        *DEFAULT_GRID,
        ModelConfig(classifier="logreg", c=10.0),
        ModelConfig(classifier="logreg", c=10.0, word_ngrams=(1, 1), char_ngrams=(2, 3)),
    ],
    ids=lambda c: f"{c.classifier}-{c.calibration}-{c.char_ngrams}-spaces{c.char_spaces}",
)
def test_every_candidate_model_exports_exactly(config, corpus: Corpus, prepare, tmp_path) -> None:
    # A slice of the corpus keeps this fast; exactness does not depend on size.
    subset = corpus.train[::4]
    pipeline = build_pipeline(config).fit(
        prepare([e.text for e in subset]), [e.intent for e in subset]
    )
    write_model(
        pipeline,
        tmp_path,
        {"labels": list(pipeline.classes_), "thresholds": {"abstain": 0.0, "clause": 0.5}},
    )
    served = IntentClassifier(tmp_path)
    texts = [ex.text for ex in corpus.dev]
    assert np.abs(served.predict_proba(texts) - pipeline.predict_proba(prepare(texts))).max() < 1e-4
    # Whole messages and their clauses, the path predict() takes.
    messages = [served.prepare(m.text).clauses for m in corpus.multi]
    rows = [r for m in messages for r in [" ".join(m), *(m if len(m) > 1 else ())]]
    numpy_path = NgramFeaturizer.from_config(read_model_files(tmp_path).features, native=False)
    for featurizer in (served._featurizer, numpy_path):
        for batch in (messages[:3], messages):
            feeds = featurizer.transform_messages(batch)
            got = served._session.run(["probabilities"], feeds)[0]
            want = pipeline.predict_proba(rows[: len(got)])
            assert np.abs(got - want).max() < 1e-4


def test_serving_never_imports_scikit_learn() -> None:
    code = (
        "import sys; from quickphrase.model import IntentClassifier; "
        "IntentClassifier().predict('在吗 有货吗'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sklearn', 'scipy', 'skl2onnx'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_bundled_metadata_describes_the_model(classifier) -> None:
    meta = classifier.metadata
    assert meta["labels"] == classifier.labels
    assert len(meta["corpus_sha256"]) == 64
    assert 0.0 <= meta["thresholds"]["abstain"] < 1.0
    assert meta["dev_metrics"]["accuracy"] >= 0.93
    assert meta["dev_metrics"]["macro_f1"] >= 0.92


def test_bundled_model_was_trained_on_the_shipped_corpus(classifier, corpus) -> None:
    assert classifier.metadata["corpus_sha256"] == corpus.fingerprint()
