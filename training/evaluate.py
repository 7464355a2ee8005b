"""Measure the intent model: dev set, multi-intent set, cross-validation.

Dev and multi-intent scores go through the serving classifier (ONNX, with
abstain and clause logic), so they are what users get. Cross-validation
refits the scikit-learn pipeline on folds of the training set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from quickphrase.model.classifier import IntentClassifier

from .corpus import Corpus, Example, MultiExample
from .pipeline import ModelConfig, TextPreparer, build_pipeline


@dataclass
class EvalReport:
    labels: list[str]
    gold: list[str]
    predicted: list[str]
    texts: list[str]
    sources: list[str]

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.asarray(self.gold) == np.asarray(self.predicted)))

    @property
    def macro_f1(self) -> float:
        return float(np.mean([row["f1"] for row in self.per_intent().values()]))

    def per_intent(self) -> dict[str, dict[str, float]]:
        p, r, f, n = precision_recall_fscore_support(
            self.gold, self.predicted, labels=self.labels, zero_division=0
        )
        return {
            label: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(n[i]),
            }
            for i, label in enumerate(self.labels)
            if n[i] > 0
        }

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.gold, self.predicted, labels=self.labels)

    def errors(self) -> list[dict[str, str]]:
        return [
            {"text": t, "gold": g, "predicted": p, "source": s}
            for t, g, p, s in zip(self.texts, self.gold, self.predicted, self.sources, strict=True)
            if g != p
        ]


def score_predictions(clf: IntentClassifier, examples: Sequence[Example]) -> EvalReport:
    predictions = clf.predict_many([ex.text for ex in examples])
    labels = sorted(set(clf.labels) | {ex.intent for ex in examples})
    return EvalReport(
        labels=labels,
        gold=[ex.intent for ex in examples],
        predicted=[p.intent for p in predictions],
        texts=[ex.text for ex in examples],
        sources=[ex.source for ex in examples],
    )


def multi_intent_scores(clf: IntentClassifier, rows: Sequence[MultiExample]) -> dict[str, float]:
    """Share of labelled intents recovered (recall), and of returned intents that are right."""
    gold_total = found = returned = correct = 0
    for row, pred in zip(rows, clf.predict_many([r.text for r in rows]), strict=True):
        got = {s.intent for s in pred.intents}
        want = set(row.intents)
        gold_total += len(want)
        found += len(want & got)
        returned += len(got)
        correct += len(got & want)
    recall = found / gold_total if gold_total else 0.0
    precision = correct / returned if returned else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"recall": recall, "precision": precision, "f1": f1, "messages": float(len(rows))}


def expected_calibration_error(
    clf: IntentClassifier, examples: Sequence[Example], bins: int = 10
) -> float:
    """Gap between confidence and accuracy of the top label, averaged over
    equal-width confidence bins weighted by their share of messages."""
    proba = clf.predict_proba([ex.text for ex in examples])
    confidence = proba.max(axis=1)
    correct = np.asarray(clf.labels)[proba.argmax(axis=1)] == np.asarray(
        [ex.intent for ex in examples]
    )
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def cross_validate(
    corpus: Corpus, config: ModelConfig, *, folds: int = 5, seed: int = 0
) -> dict[str, float]:
    """Stratified k-fold accuracy and macro-F1 of the pipeline on the training set.

    The corpus has no augmented copies (see ``training/data/README.md``), so
    each message is its own cross-validation group.
    """
    prepare = TextPreparer()
    x = np.asarray(prepare([ex.text for ex in corpus.train]), dtype=object)
    y = np.asarray([ex.intent for ex in corpus.train])
    predicted = np.empty_like(y)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        pipeline = build_pipeline(config).fit(list(x[train_idx]), y[train_idx])
        predicted[test_idx] = pipeline.predict(list(x[test_idx]))
    _, _, f1, _ = precision_recall_fscore_support(y, predicted, average="macro", zero_division=0)
    return {
        "accuracy": float(np.mean(predicted == y)),
        "macro_f1": float(f1),
        "folds": float(folds),
    }


def confusion_text(report: EvalReport) -> str:
    matrix = report.confusion()
    short = [label[:6] for label in report.labels]
    width = max(len(label) for label in report.labels)
    lines = [" " * (width + 2) + " ".join(f"{s:>6}" for s in short)]
    for label, row in zip(report.labels, matrix, strict=True):
        lines.append(f"{label:>{width}}  " + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines) + "\n"


def confusion_png(report: EvalReport, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = report.confusion()
    fig, ax = plt.subplots(figsize=(9, 8))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(report.labels)), report.labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(report.labels)), report.labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("labelled")
    ax.set_title(title)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if v:
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > matrix.max() / 2 else "black",
                )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_evaluation(
    clf: IntentClassifier,
    corpus: Corpus,
    out_dir: Path,
    *,
    cv: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Write metrics.json, confusion.txt/.png and misclassified.jsonl; return the metrics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = score_predictions(clf, corpus.dev)
    multi = multi_intent_scores(clf, corpus.multi)
    (out_dir / "confusion.txt").write_text(confusion_text(dev), encoding="utf-8")
    confusion_png(
        dev, out_dir / "confusion.png", f"dev set confusion (accuracy {dev.accuracy:.3f})"
    )
    with (out_dir / "misclassified.jsonl").open("w", encoding="utf-8") as fh:
        for err in dev.errors():
            fh.write(json.dumps(err, ensure_ascii=False) + "\n")
    metrics: dict[str, Any] = {
        "dev": {
            "accuracy": dev.accuracy,
            "macro_f1": dev.macro_f1,
            "messages": len(dev.gold),
            "expected_calibration_error": expected_calibration_error(clf, corpus.dev),
        },
        "per_intent": dev.per_intent(),
        "multi_intent": multi,
    }
    if cv is not None:
        metrics["cross_validation"] = cv
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
