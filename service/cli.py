"""The ``quickphrase`` command line: a thin surface over the engine.

Text commands (``classify``, ``suggest``, ``check``) take a text argument or
``--file`` with one text per line, and write one result per line in order
(``--json``: one JSON object per line). Exit codes: 0 ok, 1 lint errors,
2 bad input, 3 a model, phrase library or rules file that cannot be used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quickphrase.model.classifier import MAX_CHARS, Prediction
from quickphrase.phrases.compliance import CheckResult
from quickphrase.phrases.ranker import DEFAULT_K, MAX_K, Context

from . import cli_batch, cli_hotkey, cli_phrases, cli_serve, cli_training
from .cli_common import (
    EXIT_BAD_INPUT,
    DisableRuleOption,
    FileOption,
    JsonOption,
    LineError,
    ModelOption,
    PhrasesOption,
    RulesOption,
    ShopTypeOption,
    check_shop_type,
    check_text_argument,
    fail,
    load_compliance,
    load_engine,
    process_file,
)

if TYPE_CHECKING:
    from quickphrase.engine import SuggestResult

app = typer.Typer(
    help="Reply assistant for Chinese e-commerce customer service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(cli_training.train)
app.command()(cli_training.evaluate)
app.command("train-risk")(cli_training.train_risk)
app.command()(cli_serve.serve)
app.command()(cli_batch.batch)
app.command()(cli_hotkey.hotkey)
app.add_typer(cli_phrases.app, name="phrases")

def _noting_truncation(texts: Sequence[str]) -> Sequence[str]:
    """The texts, after a note on stderr for each one cut to its first MAX_CHARS."""
    for text in texts:
        if len(text) > MAX_CHARS:
            typer.echo(
                f"note: text has {len(text)} characters; used the first {MAX_CHARS}", err=True
            )
    return texts


def _human_prediction(pred: Prediction) -> str:
    found = ", ".join(f"{s.intent} {s.score:.2f}" for s in pred.intents)
    return f"{pred.intent}\t{pred.confidence:.2f}\t[{found}]"


def _human_suggestions(result: SuggestResult) -> str:
    lines = [_human_prediction(result.prediction)]
    if not result.suggestions:
        lines.append("  (no suggestion: the model is not sure what the buyer wants)")
    for n, s in enumerate(result.suggestions, 1):
        lines.append(f"  {n}. [{s.intent}] {s.text}")
    return "\n".join(lines)


def _human_check(result: CheckResult) -> str:
    lines = [result.verdict]
    for v in result.violations:
        lines.append(
            f"  {v.severity} {v.category} [{v.start}:{v.end}] "
            f"「{result.text[v.start : v.end]}」 {v.message}"
        )
    if result.redacted != result.text:
        lines.append(f"  redacted: {result.redacted}")
    return "\n".join(lines)


@app.command()
def classify(
    text: Annotated[str | None, typer.Argument(help="A buyer message.", show_default=False)] = None,
    file: FileOption = None,
    as_json: JsonOption = False,
    model: ModelOption = None,
) -> None:
    """Say what a buyer wants: intent, confidence, and every intent asked."""
    check_text_argument(text, file)
    clf = cli_training.load_classifier(model)
    if text is not None:
        pred = clf.predict(_noting_truncation([text])[0])
        typer.echo(_render(pred, as_json, _human_prediction))
        return
    assert file is not None
    process_file(
        file, lambda texts: clf.predict_many(_noting_truncation(texts)), _human_prediction, as_json
    )


def _render(result: Any, as_json: bool, human: Any) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False) if as_json else human(result)


def _variables(pairs: list[str] | None) -> dict[str, str]:
    values = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise fail(f"--var wants NAME=VALUE, not {pair!r}", EXIT_BAD_INPUT)
        values[name.strip()] = value
    return values


@app.command()
def suggest(
    text: Annotated[str | None, typer.Argument(help="A buyer message.", show_default=False)] = None,
    file: FileOption = None,
    shop_type: ShopTypeOption = "taobao",
    k: Annotated[int, typer.Option("-k", help=f"How many suggestions (1-{MAX_K}).")] = DEFAULT_K,
    as_json: JsonOption = False,
    stage: Annotated[
        str | None, typer.Option(help="pre_sale, in_sale or after_sale (ranks that stage first).")
    ] = None,
    order_status: Annotated[
        str | None,
        typer.Option(help="unpaid, paid, shipped, received or refunding."),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A phrase variable for this request, NAME=VALUE (repeatable)."),
    ] = None,
    phrases: PhrasesOption = None,
    rules: RulesOption = None,
    model: ModelOption = None,
) -> None:
    """Suggest up to k compliant quick phrases for a buyer message."""
    check_text_argument(text, file)
    try:
        context = Context(shop_type, stage, order_status, _variables(var))
        if not 1 <= k <= MAX_K:
            raise ValueError(f"-k must be between 1 and {MAX_K}")
    except ValueError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    engine = load_engine(model, phrases, rules)
    try:
        engine.library.values(context.variables)
    except (TypeError, ValueError) as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None

    def handle(texts: Sequence[str]) -> list[SuggestResult]:
        return list(engine.suggest_many(_noting_truncation(texts), context, k))

    if text is not None:
        typer.echo(_render(handle([text])[0], as_json, _human_suggestions))
        return
    assert file is not None
    process_file(file, handle, _human_suggestions, as_json)


@app.command()
def check(
    text: Annotated[
        str | None, typer.Argument(help="A reply an agent wants to send.", show_default=False)
    ] = None,
    file: FileOption = None,
    shop_type: ShopTypeOption = "taobao",
    as_json: JsonOption = False,
    rules: RulesOption = None,
    disable_rule: DisableRuleOption = None,
) -> None:
    """Check a reply against the platform rules: verdict, violations, redacted text."""
    check_text_argument(text, file)
    compliance = load_compliance(rules, disable_rule)

    def one(t: str) -> CheckResult | LineError:
        try:
            return compliance.check(t, shop_type)
        except ValueError as exc:
            return LineError(str(exc))

    check_shop_type(shop_type)
    if text is not None:
        result = one(text)
        if isinstance(result, LineError):
            raise fail(str(result), EXIT_BAD_INPUT)
        typer.echo(_render(result, as_json, _human_check))
        return
    assert file is not None
    process_file(file, lambda texts: [one(t) for t in texts], _human_check, as_json)


def main() -> None:
    app()
