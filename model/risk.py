"""The reply-risk model: which platform rules an agent's reply may break.

A model over character n-grams (logistic regression or one hidden layer),
trained on labelled agent replies (``quickphrase train-risk``) and served
with onnxruntime like the intent model. The compliance filter runs it
beside its hand-written rules: a rule knows a wording and says exactly
where it is; the model generalises to wordings nobody wrote a rule for
(绿泡泡 for WeChat, 礼品单 for fake orders).

A reply is read as a whole and, when that already looks somewhat risky
(any category at ``clause_gate`` or more) and it has several clauses, clause
by clause: a risky clause buried in a long friendly reply is diluted by the
rest. Reading every clause of every reply would cost three times as much,
and most replies are plainly safe. A category is flagged when its best row
reaches the category's threshold, chosen at training time on held-out
predictions made the same way.

Rules also speak for the model where a negation right beside their words,
or a refusal of the buyer's words they repeat, took them back
(不能保证明天一定到): n-grams cannot tell 不能保证...一定到 from 保证...一定到,
so the rows holding such a match score its category again with the
matched words blanked out (``vetoes``). The model also carries, per
category, a ``rule_floor``: the compliance filter drops a bundled rule's
match when the model gives its category less than that (a product called
QQ糖, a QR code that opens a manual). Floors are set at training time so
that almost no match of a truly risky reply is lost.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort

from .artifact import (
    BUNDLED_RISK_DIR,
    METADATA_FILE,
    RISK_MODEL_ENV,
    RISK_ONNX_FILE,
    ModelLoadError,
    load_featurizer,
    read_artifact,
)
from .runtime import inference_session

SAFE = "safe"
_NONZERO_DIGIT = re.compile("[1-9]")
# Punctuation (after NFKC) and line breaks end a clause. Spaces and colons do
# not: they also sit between a label and its value (订单号 3567..., 快递单号:7531...),
# and a number read without its label looks like a phone number.
_CLAUSE_BREAK = re.compile(r"[,。!?;~、…\n]+")
# scikit-learn's character analyzer folds runs of two or more whitespace
# characters (a Windows line break, double spaces) to one space
# before counting n-grams; the served featuriser must see the same rows.
_WHITESPACE = re.compile(r"\s\s+")
_MIN_CLAUSE_CHARS = 2


# A number right behind its label (订单号, 快递单号: SF…) is an order or a
# tracking number, never personal data; its digits become 1 (a digit no other
# number keeps) so the model cannot take it for a phone number's shape.
_LABELLED_NUMBER = re.compile(
    r"(?:单号|单编号|快递号|物流号)[::\s]*(?:是|为)?[::\s]*([a-z]*[0-9][0-9a-z-]*)"
)
_PHONE = re.compile(r"(?:86)?1[3-9][0-9]{9}")
_NOT_DIGIT = re.compile(r"[^0-9]")


def risk_input(canonical: str) -> str:
    """What the model reads of a reply already put through ``canonical_chars``:
    every digit becomes 0, so a phone number is learnt by its shape, not its
    digits, and a labelled order or tracking number's digits become 1 (unless
    the "number" is a phone number: 单号:13912345678 is still one).
    Offsets are unchanged."""
    zeroed = _NONZERO_DIGIT.sub("0", canonical)
    if "号" not in canonical:
        return zeroed
    chars: list[str] | None = None
    for labelled in _LABELLED_NUMBER.finditer(canonical):
        if _PHONE.fullmatch(_NOT_DIGIT.sub("", labelled.group(1))):
            continue
        chars = chars if chars is not None else list(zeroed)
        for at in range(*labelled.span(1)):
            if chars[at] == "0":
                chars[at] = "1"
    return zeroed if chars is None else "".join(chars)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of at least two characters; none for a
    reply that is a single clause."""
    at = 0
    clauses = []
    for brk in _CLAUSE_BREAK.finditer(text):
        if brk.start() - at >= _MIN_CLAUSE_CHARS:
            clauses.append((at, brk.start()))
        at = brk.end()
    if len(text) - at >= _MIN_CLAUSE_CHARS:
        clauses.append((at, len(text)))
    return clauses if len(clauses) > 1 else []


def needs_clauses(whole: np.ndarray, safe_column: int, gate: float) -> bool:
    """Whether the whole reply is risky enough (all categories together) to
    be read clause by clause."""
    return 1.0 - float(whole[safe_column]) >= gate


def vetoed_cells(
    spans: Sequence[tuple[int, int]], vetoes: Mapping[str, Sequence[tuple[int, int]]]
) -> Iterator[tuple[int, str]]:
    """(row, category) pairs a veto re-scores: each row (by its index in
    ``spans``) that overlaps a vetoed span of that category. The whole reply
    always does; a clause away from the negated words is left as it is."""
    for category, vetoed in vetoes.items():
        for row, (start, end) in enumerate(spans):
            if any(s < end and start < e for s, e in vetoed):
                yield row, category


def vetoed_rows(
    text: str, spans: Sequence[tuple[int, int]], vetoes: Mapping[str, Sequence[tuple[int, int]]]
) -> list[tuple[int, str, str]]:
    """(row, category, row text) for each row a veto re-scores, the text with
    that category's vetoed words turned to spaces: what serving and training
    score again in place of the row's own score for that category."""
    blanked: dict[str, str] = {}
    rescored = []
    for row, category in vetoed_cells(spans, vetoes):
        if category not in blanked:
            chars = list(text)
            for start, end in vetoes[category]:
                chars[start:end] = " " * (end - start)
            blanked[category] = "".join(chars)
        start, end = spans[row]
        rescored.append((row, category, blanked[category][start:end]))
    return rescored


class RiskHit(NamedTuple):
    """A category, its probability, and the span that scored it.

    A named tuple, not a frozen dataclass: ``check`` makes one per category
    for every reply, and a frozen dataclass costs about a microsecond each.
    """

    category: str
    probability: float
    start: int
    end: int


def against_safe(category: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """A category's probability as a share of itself plus ``safe``.

    Whether to overrule a rule's match asks "is this match safe?", not "is
    this the reply's main risk?": the categories share one softmax, so a
    phone number beside 加我vx takes mass from off_platform without making
    the WeChat part any safer.
    """
    return category / np.maximum(category + safe, 1e-12)


class Assessment:
    """Each category's best probability over the rows read of a reply
    (``best``), and, on demand, the span of the row that scored it.

    ``probabilities`` has one row per span (the whole reply, then any clauses
    read); ``columns`` gives each category's column. Training reads the same
    best-row probabilities (``training.risk.best_scores``), so thresholds are
    chosen on what is served. Hits are made only when asked for: most replies
    flag nothing, and making one per category cost about 2 µs a reply.
    """

    __slots__ = ("_columns", "_probabilities", "_safe_column", "_spans", "best")

    def __init__(
        self,
        probabilities: np.ndarray,
        spans: Sequence[tuple[int, int]],
        columns: Mapping[str, int],
        safe_column: int | None = None,
    ) -> None:
        self._probabilities = probabilities
        self._spans = spans
        self._columns = columns
        self._safe_column = safe_column
        row = probabilities[0] if len(probabilities) == 1 else probabilities.max(axis=0)
        values = row.tolist()
        self.best: dict[str, float] = {label: values[c] for label, c in columns.items()}

    def __getitem__(self, category: str) -> RiskHit:
        row = 0
        if len(self._spans) > 1:
            row = int(self._probabilities[:, self._columns[category]].argmax())
        return RiskHit(category, self.best[category], *self._spans[row])

    def against_safe(self, category: str) -> float:
        """The category's best share of itself plus ``safe`` over the rows
        read (``against_safe``): how sure the model is that a rule's match
        is not safe, whatever other categories the reply also holds."""
        if self._safe_column is None:
            return self.best[category]
        rows = self._probabilities
        shares = against_safe(rows[:, self._columns[category]], rows[:, self._safe_column])
        return float(shares.max())

    def flagged(self, thresholds: Mapping[str, float]) -> list[RiskHit]:
        """A hit for each category at or above its threshold."""
        return [self[c] for c, p in self.best.items() if p >= thresholds[c]]


class RiskModel:
    """Scores replies for each risk category.

    Parameters
    ----------
    model_dir:
        A directory written by ``quickphrase train-risk``; default:
        ``$QUICKPHRASE_RISK_MODEL`` or the bundled model.
    native:
        Use the compiled featuriser (``None``: when it was built).
    threads:
        onnxruntime intra-op threads.
    """

    def __init__(
        self, model_dir: str | Path | None = None, *, native: bool | None = None, threads: int = 1
    ) -> None:
        self.model_dir = self.resolve_dir(model_dir)
        files = read_artifact(self.model_dir, RISK_ONNX_FILE)
        meta = files.metadata
        self.metadata = meta
        try:
            self.labels: list[str] = list(meta["labels"])
            self.thresholds: dict[str, float] = {
                str(k): float(v) for k, v in meta["thresholds"].items()
            }
            self.clause_gate = float(meta["clause_gate"])
            self.rule_floors: dict[str, float] = {
                str(k): float(v) for k, v in meta.get("rule_floors", {}).items()
            }
            if SAFE not in self.labels or not set(self.thresholds) <= set(self.labels) - {SAFE}:
                raise ValueError(f"labels must include {SAFE!r} and every thresholded category")
            self._safe_column = self.labels.index(SAFE)
            self._columns = {c: self.labels.index(c) for c in self.thresholds}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelLoadError(
                f"model file {self.model_dir / METADATA_FILE} is malformed: {exc!r}"
            ) from None
        self._featurizer = load_featurizer(files, self.model_dir, native)
        self._run_options = ort.RunOptions()
        try:
            self._session = inference_session(files.onnx_bytes, threads)
            probs = self.proba([""])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"model files in {self.model_dir} are not a usable risk model: {exc}"
            ) from None
        if probs.shape != (1, len(self.labels)):
            raise ModelLoadError(
                f"{self.model_dir / RISK_ONNX_FILE} scores {probs.shape[-1]} categories but "
                f"metadata.json lists {len(self.labels)} labels"
            )

    @staticmethod
    def resolve_dir(model_dir: str | Path | None = None) -> Path:
        """The argument, else ``$QUICKPHRASE_RISK_MODEL``, else the bundled model."""
        return Path(model_dir or os.environ.get(RISK_MODEL_ENV) or BUNDLED_RISK_DIR)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories this model can flag."""
        return tuple(self.thresholds)

    def proba(self, rows: Sequence[str]) -> np.ndarray:
        """Probabilities of each label (columns in ``labels`` order) for texts
        already prepared with ``risk_input`` and whitespace runs folded to one
        space (as ``assess`` does)."""
        feeds = self._featurizer.transform(rows)
        return self._session.run(["probabilities"], feeds, self._run_options)[0]

    def flag(self, canonical: str) -> list[RiskHit]:
        """The categories flagged in a reply put through ``canonical_chars``."""
        return self.assess(canonical).flagged(self.thresholds)

    def assess(
        self,
        canonical: str,
        *,
        read_clauses: bool = False,
        vetoes: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    ) -> Assessment:
        """Every category's best probability in a reply put through
        ``canonical_chars``, and the span that scored it.

        ``read_clauses``: read every clause whatever the whole reply scores
        (the filter asks when a rule matched: whether to overrule the match
        must not depend on how much friendly text surrounds it).
        ``vetoes``: per category, spans of rule matches a negation right
        beside them took back (``compliance.vetoes``); a row overlapping one
        scores that category again with those words blanked out (the rest of
        the row still counts), and the clauses are read.
        """
        text = risk_input(canonical)
        probs = self.proba([_WHITESPACE.sub(" ", text)])
        spans = [(0, len(text))]
        vetoed = {c: v for c, v in (vetoes or {}).items() if c in self._columns}
        if read_clauses or vetoed or needs_clauses(probs[0], self._safe_column, self.clause_gate):
            clauses = clause_spans(text)
            if clauses:
                rows = [_WHITESPACE.sub(" ", text[s:e]) for s, e in clauses]
                probs = np.vstack([probs, self.proba(rows)])
                spans += clauses
        if vetoed:
            rescored = vetoed_rows(text, spans, vetoed)
            again = self.proba([_WHITESPACE.sub(" ", row_text) for _, _, row_text in rescored])
            for (row, category, _), scores in zip(rescored, again, strict=True):
                column = self._columns[category]
                probs[row, column] = scores[column]
        return Assessment(probs, spans, self._columns, self._safe_column)
