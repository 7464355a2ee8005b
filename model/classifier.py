"""The intent classifier served with onnxruntime (no scikit-learn at run time)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import onnxruntime as ort

from .artifact import (
    FEATURES_FILE,
    ONNX_FILE,
    ModelFiles,
    ModelLoadError,
    load_featurizer,
    read_model_files,
    resolve_model_dir,
)
from .normalize import normalize
from .runtime import inference_session
from .segment import Segmented, Segmenter

OTHER = "other"
MAX_CHARS = 2000
RANKED = 3  # runner-up labels kept on each Prediction for the ranker
SMALL_ROWS = 16  # up to this many rows, ranking labels in Python is faster


class IntentScore(NamedTuple):
    """An intent and its probability.

    A named tuple rather than a dataclass: no per-instance dict, so half as
    many objects for the cyclic garbage collector to scan, and a batch keeps
    several per message alive.
    """

    intent: str
    score: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the buyer wants.

    ``intent`` is the answer for the whole message (``"other"`` when the model
    is unsure); ``intents`` lists every intent found, in the order the buyer
    asked, for messages with several questions.
    """

    text: str
    intent: str
    confidence: float
    intents: tuple[IntentScore, ...]
    truncated: bool = False
    # For the ranker, not the API: the whole message's best labels before any
    # abstaining, and the normalised words the model read.
    ranked: tuple[IntentScore, ...] = field(default=(), compare=False, repr=False)
    words: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "intents": [{"intent": s.intent, "score": round(s.score, 4)} for s in self.intents],
        }
        if self.truncated:
            out["truncated"] = True
        return out


def _top_labels(
    probs: np.ndarray, other: int
) -> tuple[list[list[int]], list[list[float]], list[float]]:
    """The RANKED best label ids of each row, their probabilities (best first)
    and each row's probability of ``other`` (0.0 without such a label).

    Per-message logic then works on Python numbers, much cheaper than numpy
    scalars; for a few rows plain Python also beats numpy's per-call overhead.
    """
    if len(probs) > SMALL_ROWS:
        order = np.argsort(-probs, axis=1, kind="stable")[:, :RANKED]
        p_other = probs[:, other].tolist() if other >= 0 else [0.0] * len(probs)
        return order.tolist(), np.take_along_axis(probs, order, axis=1).tolist(), p_other
    top, top_p, p_other = [], [], []
    for row in probs.tolist():
        best = sorted(range(len(row)), key=row.__getitem__, reverse=True)[:RANKED]
        top.append(best)
        top_p.append([row[i] for i in best])
        p_other.append(row[other] if other >= 0 else 0.0)
    return top, top_p, p_other


class IntentClassifier:
    """Maps buyer messages to intents with calibrated confidence.

    Parameters
    ----------
    model_dir:
        A directory written by ``quickphrase train``; default: ``$QUICKPHRASE_MODEL``
        or the model bundled with the package.
    max_chars:
        Longer messages are classified on this prefix and flagged ``truncated``.
    threads:
        onnxruntime intra-op threads. One is fastest for chat-sized batches;
        use processes to spread a large batch over cores.
    native:
        Use the compiled parts, the featuriser kernel and (unless a
        ``segmenter`` is given) the word cutter: ``None`` (default) when they
        were built at install, ``False`` for the NumPy featuriser and jieba's
        own cut (same features and words, slower per message), ``True`` to
        fail if they were not built.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        max_chars: int = MAX_CHARS,
        threads: int = 1,
        segmenter: Segmenter | None = None,
        native: bool | None = None,
    ) -> None:
        self.model_dir = resolve_model_dir(model_dir)
        files: ModelFiles = read_model_files(self.model_dir)
        self.metadata = files.metadata
        self.labels: list[str] = files.labels
        self.thresholds = files.thresholds
        self.max_chars = max_chars
        self._featurizer = load_featurizer(files, self.model_dir, native)
        self._segmenter = segmenter or Segmenter(native=native)
        try:
            self._session = inference_session(files.onnx_bytes, threads)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"model file {self.model_dir / ONNX_FILE} is not a valid ONNX model: {exc}"
            ) from None
        # Passing our own RunOptions saves onnxruntime building a default one
        # on every call: 2-3 µs of a 50 µs prediction, measured in place.
        self._run_options = ort.RunOptions()
        self._check_files_agree()
        self._other = self.labels.index(OTHER) if OTHER in self.labels else -1

    # -- public API -------------------------------------------------------

    @property
    def native(self) -> bool:
        """Whether the compiled featuriser serves (else the NumPy path)."""
        return self._featurizer.native

    @property
    def native_cut(self) -> bool:
        """Whether the compiled word cutter serves (else jieba's own cut)."""
        return self._segmenter.native

    def predict(self, text: str) -> Prediction:
        """Classify one message."""
        self._check(text)
        return self._predict_batch([text])[0]

    def predict_many(self, texts: Iterable[str], batch_size: int = 512) -> list[Prediction]:
        """Classify messages in order; one onnxruntime call per batch."""
        return list(self.iter_predict(texts, batch_size=batch_size))

    def iter_predict(self, texts: Iterable[str], batch_size: int = 512) -> Iterator[Prediction]:
        """Stream predictions for an iterable of messages, in order.

        A bad message (empty, not a string) raises with its position.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        it = iter(texts)
        done = 0
        while batch := list(islice(it, batch_size)):
            for i, text in enumerate(batch):
                try:
                    self._check(text)
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"message {done + i}: {exc}") from None
            yield from self._predict_batch(batch)
            done += len(batch)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Whole-message probabilities, columns in ``self.labels`` order."""
        words = [self.prepare(t).words for t in texts]
        return self.proba_from_words(words)

    def prepare(self, text: str) -> Segmented:
        """Normalise and segment one message (the classifier's input)."""
        self._check(text)
        return self._segment(text)

    def _segment(self, text: str) -> Segmented:
        return self._segmenter.segment(normalize(text[: self.max_chars]))

    @staticmethod
    def _check(text: object) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        if not text or text.isspace():
            raise ValueError("text is empty")

    def proba_from_words(self, words: Sequence[str]) -> np.ndarray:
        """Probabilities for already prepared (space-joined word) strings."""
        if not words:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        feeds = self._featurizer.transform(words)
        return self._run(feeds)

    # -- internals --------------------------------------------------------

    def _check_files_agree(self) -> None:
        """One inference at load, so mismatched model files fail now, not mid-request.

        The padding id is the last row of the graph's weights, so this also
        proves the vocabulary and the graph have the same number of features.
        """
        try:
            probs = self._run(self._featurizer.transform([""]))
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"model files in {self.model_dir} do not belong together "
                f"({ONNX_FILE} rejects the features of {FEATURES_FILE}): {exc}"
            ) from None
        if probs.shape != (1, len(self.labels)):
            raise ModelLoadError(
                f"{self.model_dir / ONNX_FILE} scores {probs.shape[-1]} intents but "
                f"metadata.json lists {len(self.labels)} labels"
            )

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(["probabilities"], feeds, self._run_options)[0]

    def _predict_batch(self, texts: list[str]) -> list[Prediction]:
        # Callers have checked every text already (predict, iter_predict).
        segmented = [self._segment(t) for t in texts]
        feeds = self._featurizer.transform_messages([seg.clauses for seg in segmented])
        probs = self._run(feeds)
        top, top_p, p_other = _top_labels(probs, self._other)
        best = [t[0] for t in top]
        best_p = [p[0] for p in top_p]
        labels = self.labels
        out = []
        row = 0
        for text, seg in zip(texts, segmented, strict=True):
            n = 1 + (len(seg.clauses) if len(seg.clauses) > 1 else 0)
            label, score, intents = self._decide(
                seg, best[row : row + n], best_p[row : row + n], p_other[row]
            )
            ranked = tuple(
                [IntentScore(labels[i], p) for i, p in zip(top[row], top_p[row], strict=True)]
            )
            truncated = len(text) > self.max_chars
            out.append(Prediction(text, label, score, intents, truncated, ranked, seg.words))
            row += n
        return out

    def _decide(
        self, seg: Segmented, best: list[int], best_p: list[float], p_other: float
    ) -> tuple[str, float, tuple[IntentScore, ...]]:
        """Whole-message answer plus the intents of confident clauses, in order.

        ``best`` and ``best_p`` hold the top label and its probability for the
        whole message, then for each clause; ``p_other`` is the whole
        message's probability of "other", reported when the model abstains.
        """
        if not seg.words:
            # Nothing but punctuation or spaces: there is no question to answer.
            return OTHER, 1.0, (IntentScore(OTHER, 1.0),)
        top, top_p = best[0], best_p[0]
        found: dict[int, float] = {}
        for label, p in zip(best[1:], best_p[1:], strict=True):
            if label != self._other and p >= self.thresholds.clause:
                found[label] = max(found.get(label, 0.0), p)
        confident = top_p >= self.thresholds.abstain
        if confident and top != self._other:
            found.setdefault(top, top_p)
        if not found:
            label, score = (self.labels[top], top_p) if confident else (OTHER, p_other)
            return label, score, (IntentScore(label, score),)
        primary = top if top in found else next(iter(found))
        intents = tuple(IntentScore(self.labels[i], p) for i, p in found.items())
        return self.labels[primary], found[primary], intents
