"""Train, select, calibrate and export the intent model.

``train_model`` is what ``quickphrase train`` runs: every candidate in the
grid is fitted on the training set and scored on the dev set (never trained
on); the best by dev macro-F1 (then log-loss) is exported to ONNX, and its
abstain and clause thresholds are chosen on the dev set through the serving
classifier itself, so they match what users get.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, log_loss
from sklearn.pipeline import Pipeline

from quickphrase import __version__
from quickphrase.model.artifact import (
    BUNDLED_MODEL_DIR,
    FEATURES_FILE,
    METADATA_FILE,
    ONNX_FILE,
)
from quickphrase.model.classifier import OTHER, IntentClassifier

from .corpus import Corpus, CorpusError
from .evaluate import expected_calibration_error, multi_intent_scores, score_predictions
from .export import feature_config, to_onnx
from .pipeline import ModelConfig, TextPreparer, build_pipeline

DEFAULT_GRID: tuple[ModelConfig, ...] = (
    ModelConfig(classifier="logreg", c=30.0, calibration="temperature"),
    ModelConfig(classifier="logreg", c=30.0, char_ngrams=(1, 2), calibration="temperature"),
    ModelConfig(classifier="logreg", c=30.0, char_spaces=True, calibration="temperature"),
    ModelConfig(classifier="svm", c=0.3, calibration="sigmoid"),
    ModelConfig(classifier="svm", c=0.5, calibration="temperature"),
    ModelConfig(classifier="svm", c=0.5, char_ngrams=(1, 2), calibration="temperature"),
    ModelConfig(
        classifier="svm", c=0.5, char_ngrams=(1, 3), char_spaces=True, calibration="temperature"
    ),
)
MIN_PER_INTENT = 5
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.0, 0.91, 0.05))

Progress = Callable[[str], None]


@dataclass
class Candidate:
    config: ModelConfig
    dev_accuracy: float
    dev_macro_f1: float
    dev_log_loss: float


@dataclass
class TrainResult:
    model_dir: Path
    config: ModelConfig
    candidates: list[Candidate]
    metadata: dict[str, Any] = field(default_factory=dict)


def check_writable(out_dir: Path) -> None:
    """Fail now, not after minutes of fitting, if the model cannot be written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    probe = out_dir / ".quickphrase-write-test"
    probe.write_bytes(b"")
    probe.unlink()


def bundled_config() -> ModelConfig:
    """The hyper-parameters the shipped model was trained with."""
    meta = json.loads((BUNDLED_MODEL_DIR / METADATA_FILE).read_text(encoding="utf-8"))
    return ModelConfig.from_dict(meta["config"])


def fit(corpus: Corpus, config: ModelConfig, prepare: TextPreparer) -> Pipeline:
    texts = prepare([ex.text for ex in corpus.train])
    return build_pipeline(config).fit(texts, [ex.intent for ex in corpus.train])


def select(
    corpus: Corpus,
    grid: Sequence[ModelConfig],
    prepare: TextPreparer,
    progress: Progress,
) -> tuple[Pipeline, Candidate, list[Candidate]]:
    """Fit every candidate; return the best by dev macro-F1, then log-loss."""
    dev_x = prepare([ex.text for ex in corpus.dev])
    dev_y = [ex.intent for ex in corpus.dev]
    best: tuple[tuple[float, float], Pipeline, Candidate] | None = None
    candidates = []
    for n, config in enumerate(grid, start=1):
        progress(f"[{n}/{len(grid)}] fitting {config.describe()}")
        pipeline = fit(corpus, config, prepare)
        proba = pipeline.predict_proba(dev_x)
        predicted = pipeline.classes_[proba.argmax(axis=1)]
        cand = Candidate(
            config=config,
            dev_accuracy=float(np.mean(predicted == np.asarray(dev_y))),
            dev_macro_f1=float(f1_score(dev_y, predicted, average="macro")),
            dev_log_loss=float(log_loss(dev_y, proba, labels=pipeline.classes_)),
        )
        progress(
            f"      dev accuracy {cand.dev_accuracy:.4f}  macro-F1 {cand.dev_macro_f1:.4f}"
            f"  log-loss {cand.dev_log_loss:.3f}"
        )
        candidates.append(cand)
        key = (round(cand.dev_macro_f1, 4), -cand.dev_log_loss)
        if best is None or key > best[0]:
            best = (key, pipeline, cand)
    if best is None:
        raise ValueError("the model grid is empty")
    return best[1], best[2], candidates


def write_model(
    pipeline: Pipeline,
    out_dir: Path,
    metadata: dict[str, Any],
    *,
    onnx_file: str = ONNX_FILE,
    graph: str = "quickphrase_intent",
) -> None:
    """The graph, features and metadata of a fitted pipeline (intent or risk model)."""
    labels = list(pipeline.classes_)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = to_onnx(pipeline, labels, version=metadata.get("version", ""), name=graph)
    (out_dir / onnx_file).write_bytes(model.SerializeToString())
    (out_dir / FEATURES_FILE).write_text(
        json.dumps(feature_config(pipeline), ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8",
    )
    (out_dir / METADATA_FILE).write_text(
        json.dumps(metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def choose_abstain(clf: IntentClassifier, corpus: Corpus, tolerance: float = 0.002) -> float:
    """The highest cut-off whose dev macro-F1 is within ``tolerance`` of the best.

    Below the cut-off the answer is "other". Among cut-offs that score alike
    on the dev set the highest is the safer one: an unsure "other" costs an
    agent a second, a confident wrong intent costs a wrong reply.
    """
    proba = clf.predict_proba([ex.text for ex in corpus.dev])
    gold = [ex.intent for ex in corpus.dev]
    labels = np.asarray(clf.labels)
    top = labels[proba.argmax(axis=1)]
    conf = proba.max(axis=1)
    scores = {
        t: f1_score(gold, np.where(conf >= t, top, OTHER), average="macro") for t in THRESHOLD_GRID
    }
    best = max(scores.values())
    return float(max(t for t, f1 in scores.items() if f1 >= best - tolerance))


def choose_clause(model_dir: Path, corpus: Corpus, abstain: float) -> float:
    """The clause cut-off maximising intent-set F1 on the multi-intent dev set."""
    best_t, best_f1 = 0.5, -1.0
    for t in THRESHOLD_GRID:
        _set_thresholds(model_dir, abstain, t)
        clf = IntentClassifier(model_dir)
        scores = multi_intent_scores(clf, corpus.multi)
        if scores["f1"] > best_f1 + 1e-9:
            best_t, best_f1 = t, scores["f1"]
    return float(best_t)


def _set_thresholds(model_dir: Path, abstain: float, clause: float) -> None:
    path = model_dir / METADATA_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["thresholds"] = {"abstain": abstain, "clause": clause}
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def train_model(
    out_dir: Path,
    *,
    extra_data: Sequence[Path] = (),
    grid: Sequence[ModelConfig] = DEFAULT_GRID,
    progress: Progress = print,
) -> TrainResult:
    """Train on the shipped corpus (plus ``extra_data``) and write a model to ``out_dir``.

    Raises ``CorpusError`` for unusable data and ``OSError`` when ``out_dir``
    cannot be written, both before any fitting starts.
    """
    check_writable(out_dir)
    corpus = Corpus.load(extra=extra_data)
    thin = {k: n for k, (n, _) in corpus.counts().items() if 0 < n < MIN_PER_INTENT}
    if thin:
        listed = ", ".join(f"{k} ({n})" for k, n in sorted(thin.items()))
        raise CorpusError(
            f"every intent needs at least {MIN_PER_INTENT} distinct training messages "
            f"(calibration uses {MIN_PER_INTENT}-fold cross-validation); too few: {listed}"
        )
    progress(
        f"corpus: {len(corpus.train)} training messages, {len(corpus.dev)} dev, "
        f"{len(corpus.multi)} multi-intent dev, {len(corpus.labels)} intents"
    )
    prepare = TextPreparer()
    pipeline, chosen, candidates = select(corpus, grid, prepare, progress)
    progress(f"chosen: {chosen.config.describe()}")

    metadata: dict[str, Any] = {
        "name": "quickphrase-intent",
        "version": __version__,
        "labels": list(pipeline.classes_),
        "config": asdict(chosen.config),
        "corpus_sha256": corpus.fingerprint(),
        "corpus_counts": {k: {"train": t, "dev": d} for k, (t, d) in corpus.counts().items()},
        "extra_data": [p.name for p in extra_data],
        "thresholds": {"abstain": 0.0, "clause": 0.5},
    }
    # Build in a scratch directory so a failed run never leaves a half-written model.
    scratch = Path(tempfile.mkdtemp(prefix="quickphrase-train-"))
    try:
        write_model(pipeline, scratch, metadata)
        clf = IntentClassifier(scratch)
        abstain = choose_abstain(clf, corpus)
        clause = choose_clause(scratch, corpus, abstain)
        _set_thresholds(scratch, abstain, clause)
        clf = IntentClassifier(scratch)
        dev = score_predictions(clf, corpus.dev)
        multi = multi_intent_scores(clf, corpus.multi)
        metadata["thresholds"] = {"abstain": abstain, "clause": clause}
        metadata["dev_metrics"] = {
            "accuracy": round(dev.accuracy, 4),
            "macro_f1": round(dev.macro_f1, 4),
            "multi_intent_recall": round(multi["recall"], 4),
            "multi_intent_precision": round(multi["precision"], 4),
            "expected_calibration_error": round(expected_calibration_error(clf, corpus.dev), 4),
        }
        metadata["selection"] = [
            {
                **asdict(c.config),
                "dev_accuracy": round(c.dev_accuracy, 4),
                "dev_macro_f1": round(c.dev_macro_f1, 4),
                "dev_log_loss": round(c.dev_log_loss, 4),
            }
            for c in candidates
        ]
        write_model(pipeline, scratch, metadata)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in (ONNX_FILE, FEATURES_FILE, METADATA_FILE):
            shutil.copyfile(scratch / name, out_dir / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    scores = metadata["dev_metrics"]
    progress(
        f"thresholds: abstain {abstain:.2f}, clause {clause:.2f}; dev accuracy "
        f"{scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}, "
        f"multi-intent recall {scores['multi_intent_recall']:.4f}"
    )
    progress(f"model written to {out_dir}")
    return TrainResult(
        model_dir=out_dir, config=chosen.config, candidates=candidates, metadata=metadata
    )
