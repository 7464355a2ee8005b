from __future__ import annotations

import pytest

from quickphrase.model import IntentClassifier
from quickphrase.training.corpus import Corpus


@pytest.fixture(scope="session")
def classifier() -> IntentClassifier:
    """The bundled model, as every surface loads it."""
    return IntentClassifier()


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus.load()


@pytest.fixture(scope="session")
def shipped_pipeline(corpus: Corpus):
    """The scikit-learn pipeline refitted with the bundled model's settings.

    Training is deterministic, so this is the pipeline the bundled ONNX
    model was exported from.
    """
    from quickphrase.training.pipeline import TextPreparer
    from quickphrase.training.train import bundled_config, fit

    return fit(corpus, bundled_config(), TextPreparer())


@pytest.fixture(scope="session")
def prepare():
    from quickphrase.training.pipeline import TextPreparer

    return TextPreparer()
