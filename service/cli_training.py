"""``quickphrase train``, ``evaluate`` and ``train-risk``: the models' life cycle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from quickphrase.model.artifact import BUNDLED_MODEL_DIR, BUNDLED_RISK_DIR, ModelLoadError
from quickphrase.model.classifier import IntentClassifier

from .cli_common import EXIT_BAD_INPUT, EXIT_CONFIG, ModelOption, fail, reason


def load_classifier(model: Path | None) -> IntentClassifier:
    try:
        return IntentClassifier(model)
    except ModelLoadError as exc:
        raise fail(str(exc), EXIT_CONFIG) from None


def existing_data(data: list[Path] | None) -> list[Path]:
    """The --data files, each checked to exist (exit 2 otherwise)."""
    extra = list(data or [])
    for path in extra:
        if not path.is_file():
            raise fail(f"training data not found: {path}", EXIT_BAD_INPUT)
    return extra


@contextmanager
def training_failures(target: Path) -> Iterator[None]:
    """Unusable data or an unwritable model directory: a clear error, exit 2."""
    from quickphrase.training.corpus import CorpusError

    try:
        yield
    except CorpusError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise fail(f"cannot write the model to {target}: {reason(exc)}", EXIT_BAD_INPUT) from None


def train(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="A shop's labelled messages (JSONL), added to the corpus."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the model (default: the bundled model; "
            "./quickphrase-model with --data).",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        bool,
        typer.Option(
            help="Choose hyper-parameters on the dev set; --no-search reuses "
            "the bundled model's (one fit, much faster).",
        ),
    ] = True,
) -> None:
    """Train the intent model on the shipped corpus (and --data) and export it to ONNX."""
    from quickphrase.training.train import DEFAULT_GRID, bundled_config, train_model

    extra = existing_data(data)
    target = out or (Path("quickphrase-model") if extra else BUNDLED_MODEL_DIR)
    grid = DEFAULT_GRID if search else (bundled_config(),)
    with training_failures(target):
        train_model(target, extra_data=extra, grid=grid, progress=lambda m: typer.echo(m, err=True))
    if target != BUNDLED_MODEL_DIR:
        typer.echo(f"use it with --model {target} or QUICKPHRASE_MODEL={target}", err=True)


def train_risk(
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            help="A shop's labelled replies (JSONL: text, categories), added to the training set.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the model (default: the bundled risk model; "
            "./quickphrase-risk-model with --data).",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        bool,
        typer.Option(
            help="Choose hyper-parameters on the dev replies; --no-search reuses "
            "the bundled model's (faster).",
        ),
    ] = True,
    max_false_blocks: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.2,
            help="Most safe dev replies rules and model may block together, give or "
            "take two standard errors of dev's count; lower blocks fewer safe replies "
            "and catches fewer risky ones.",
        ),
    ] = 0.01,
) -> None:
    """Train the compliance filter's risk model on labelled agent replies and export it to ONNX."""
    from quickphrase.training.risk import DEFAULT_GRID, bundled_risk_config, train_risk_model

    extra = existing_data(data)
    target = out or (Path("quickphrase-risk-model") if extra else BUNDLED_RISK_DIR)
    with training_failures(target):
        grid = DEFAULT_GRID if search else (bundled_risk_config(),)
        train_risk_model(
            target,
            extra_data=extra,
            grid=grid,
            max_false_blocks=max_false_blocks,
            progress=lambda m: typer.echo(m, err=True),
        )
    if target != BUNDLED_RISK_DIR:
        typer.echo(f"use it with QUICKPHRASE_RISK_MODEL={target}", err=True)


def evaluate(
    model: ModelOption = None,
    out: Annotated[Path, typer.Option(help="Directory for the reports.")] = Path("evaluation"),
    cv: Annotated[bool, typer.Option(help="Also cross-validate on the training set.")] = True,
) -> None:
    """Per-intent precision/recall/F1 on the dev set, confusion matrix, errors, CV."""
    from rich.console import Console
    from rich.table import Table

    from quickphrase.training.corpus import Corpus
    from quickphrase.training.evaluate import cross_validate, write_evaluation
    from quickphrase.training.pipeline import ModelConfig

    clf = load_classifier(model)
    corpus = Corpus.load()
    cv_scores = None
    if cv:
        config = clf.metadata.get("config", {})
        typer.echo("cross-validating (5 folds) on the training set...", err=True)
        cv_scores = cross_validate(corpus, ModelConfig.from_dict(config))
    try:
        metrics = write_evaluation(clf, corpus, out, cv=cv_scores)
    except OSError as exc:
        raise fail(f"cannot write reports to {out}: {reason(exc)}", EXIT_BAD_INPUT) from None
    table = Table(title=f"dev set ({metrics['dev']['messages']} messages)")
    for column in ("intent", "precision", "recall", "F1", "n"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for label, row in metrics["per_intent"].items():
        table.add_row(
            label,
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    console = Console()
    console.print(table)
    dev = metrics["dev"]
    console.print(
        f"dev accuracy {dev['accuracy']:.4f}, macro-F1 {dev['macro_f1']:.4f}; "
        f"multi-intent recall {metrics['multi_intent']['recall']:.4f}, "
        f"precision {metrics['multi_intent']['precision']:.4f}; "
        f"calibration error (ECE) {dev['expected_calibration_error']:.4f}"
    )
    if cv_scores:
        console.print(
            f"cross-validation: accuracy {cv_scores['accuracy']:.4f}, "
            f"macro-F1 {cv_scores['macro_f1']:.4f}"
        )
    console.print(f"reports written to {out}/ (confusion.txt, confusion.png, misclassified.jsonl)")
