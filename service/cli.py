"""The ``quickphrase`` command line: a thin surface over the engine."""

from __future__ import annotations

import json
import select
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from quickphrase.model.artifact import BUNDLED_MODEL_DIR, ModelLoadError
from quickphrase.model.classifier import MAX_CHARS, IntentClassifier, Prediction

app = typer.Typer(
    help="Reply assistant for Chinese e-commerce customer service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2
EXIT_MODEL = 3

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model directory written by 'quickphrase train' "
        "[default: $QUICKPHRASE_MODEL, else the bundled model].",
        show_default=False,
    ),
]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _load(model: Path | None) -> IntentClassifier:
    try:
        return IntentClassifier(model)
    except ModelLoadError as exc:
        raise _fail(str(exc), EXIT_MODEL) from None


def _human(pred: Prediction) -> str:
    found = ", ".join(f"{s.intent} {s.score:.2f}" for s in pred.intents)
    return f"{pred.intent}\t{pred.confidence:.2f}\t[{found}]"


@app.command()
def classify(
    text: Annotated[str | None, typer.Argument(help="A buyer message.", show_default=False)] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="One message per line (UTF-8); '-' reads stdin."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
    model: ModelOption = None,
) -> None:
    """Say what a buyer wants: intent, confidence, and every intent asked."""
    if (text is None) == (file is None):
        raise _fail("give a message or --file PATH (not both)", EXIT_BAD_INPUT)
    if text is not None:
        if not text.strip():
            raise _fail("the message is empty", EXIT_BAD_INPUT)
        if any("\ud800" <= ch <= "\udfff" for ch in text):
            # Python maps undecodable command-line bytes to lone surrogates.
            raise _fail("the message is not valid UTF-8", EXIT_BAD_INPUT)
        clf = _load(model)
        pred = clf.predict(text)
        if pred.truncated:
            typer.echo(
                f"note: message has {len(text)} characters; classified the first {clf.max_chars}",
                err=True,
            )
        typer.echo(json.dumps(pred.to_dict(), ensure_ascii=False) if as_json else _human(pred))
        return
    assert file is not None
    clf = _load(model)
    if str(file) == "-":
        rejected = _classify_stream(clf, sys.stdin.buffer, as_json)
    else:
        try:
            with file.open("rb") as fh:
                rejected = _classify_stream(clf, fh, as_json)
        except OSError as exc:
            raise _fail(f"cannot read {file}: {_reason(exc)}", EXIT_BAD_INPUT) from None
    if rejected:
        raise _fail(f"{rejected} line(s) could not be classified (see above)", EXIT_BAD_INPUT)


def _classify_stream(clf: IntentClassifier, stream: BinaryIO, as_json: bool) -> int:
    """Classify line by line in batches, writing in input order; return bad-line count."""
    rejected = 0
    batch: list[tuple[int, str | None, str]] = []

    def flush() -> None:
        good = [(n, t) for n, t, _ in batch if t is not None]
        preds = iter(clf.predict_many([t for _, t in good]))
        for number, text, problem in batch:
            if text is None:
                out = {"line": number, "error": problem}
                typer.echo(
                    json.dumps(out, ensure_ascii=False)
                    if as_json
                    else f"line {number}: error: {problem}"
                )
                continue
            pred = next(preds)
            if pred.truncated:
                typer.echo(
                    f"note: line {number} classified on its first {MAX_CHARS} characters", err=True
                )
            typer.echo(json.dumps(pred.to_dict(), ensure_ascii=False) if as_json else _human(pred))
        sys.stdout.flush()
        batch.clear()

    for number, text, problem in _lines(stream):
        if text is None:
            rejected += 1
            typer.echo(f"error: line {number}: {problem}", err=True)
        batch.append((number, text, problem))
        # Batches are for throughput; a live pipe gets its answer as soon as
        # no further line is already waiting.
        if len(batch) >= 256 or not _more_waiting(stream):
            flush()
    flush()
    return rejected


def _more_waiting(stream: BinaryIO) -> bool:
    if stream.seekable():
        return True  # a regular file: the next line is always there
    try:
        ready, _, _ = select.select([stream], [], [], 0)
    except (OSError, ValueError, TypeError):  # no select() for this stream (Windows pipes)
        return True
    return bool(ready)


def _lines(stream: BinaryIO) -> Iterator[tuple[int, str | None, str]]:
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield number, None, f"not valid UTF-8 (byte {exc.start + 1})"
            continue
        if not line.strip():
            yield number, None, "empty message"
        else:
            yield number, line, ""


@app.command()
def train(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="A shop's labelled messages (JSONL), added to the corpus."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the model [default: the bundled model; "
            "./quickphrase-model with --data].",
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
    from quickphrase.training.corpus import CorpusError
    from quickphrase.training.train import DEFAULT_GRID, bundled_config, train_model

    extra = list(data or [])
    for path in extra:
        if not path.is_file():
            raise _fail(f"training data not found: {path}", EXIT_BAD_INPUT)
    target = out or (Path("quickphrase-model") if extra else BUNDLED_MODEL_DIR)
    grid = DEFAULT_GRID if search else (bundled_config(),)
    try:
        train_model(target, extra_data=extra, grid=grid, progress=lambda m: typer.echo(m, err=True))
    except CorpusError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise _fail(f"cannot write the model to {target}: {_reason(exc)}", EXIT_BAD_INPUT) from None
    if target != BUNDLED_MODEL_DIR:
        typer.echo(f"use it with --model {target} or QUICKPHRASE_MODEL={target}", err=True)


@app.command()
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

    clf = _load(model)
    corpus = Corpus.load()
    cv_scores = None
    if cv:
        config = clf.metadata.get("config", {})
        typer.echo("cross-validating (5 folds) on the training set...", err=True)
        cv_scores = cross_validate(corpus, ModelConfig.from_dict(config))
    try:
        metrics = write_evaluation(clf, corpus, out, cv=cv_scores)
    except OSError as exc:
        raise _fail(f"cannot write reports to {out}: {_reason(exc)}", EXIT_BAD_INPUT) from None
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


def main() -> None:
    app()
