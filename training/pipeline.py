"""The scikit-learn intent pipeline and the text preparation it is trained on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from quickphrase.model.normalize import normalize
from quickphrase.model.segment import Segmenter

# Words are joined by single spaces; this pattern splits exactly there, which
# is what the serving featuriser reproduces.
WORD_PATTERN = r"[^ ]+"


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of one candidate model."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 3)
    char_spaces: bool = False  # whether character n-grams see the spaces between words
    sublinear_tf: bool = True
    classifier: str = "logreg"  # "logreg" or "svm"
    c: float = 10.0
    calibration: str = "none"  # "none", "sigmoid" or "temperature"

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Inverse of ``dataclasses.asdict`` after a JSON round trip."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


def strip_spaces(words: str) -> str:
    """Character n-grams read the message without the spaces jieba put in."""
    return words.replace(" ", "")


def build_pipeline(config: ModelConfig, *, seed: int = 0) -> Pipeline:
    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    token_pattern=WORD_PATTERN,
                    ngram_range=config.word_ngrams,
                    lowercase=False,
                    sublinear_tf=config.sublinear_tf,
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=config.char_ngrams,
                    lowercase=False,
                    preprocessor=None if config.char_spaces else strip_spaces,
                    sublinear_tf=config.sublinear_tf,
                ),
            ),
        ]
    )
    if config.classifier == "logreg":
        base = LogisticRegression(C=config.c, max_iter=5000, random_state=seed)
    elif config.classifier == "svm":
        base = LinearSVC(C=config.c, random_state=seed)
    else:
        raise ValueError(f"unknown classifier {config.classifier!r}")
    if config.calibration == "none":
        if config.classifier == "svm":
            raise ValueError("a linear SVM needs calibration to give probabilities")
        classifier = base
    else:
        classifier = CalibratedClassifierCV(base, method=config.calibration, cv=5, ensemble=False)
    return Pipeline([("features", features), ("classifier", classifier)])


class TextPreparer:
    """Normalise and segment messages exactly as ``IntentClassifier`` does."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self.segmenter = segmenter or Segmenter()

    def __call__(self, texts: Sequence[str]) -> list[str]:
        return [self.segmenter.words(normalize(t)) for t in texts]
