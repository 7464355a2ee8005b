"""``quickphrase phrases``: lint, export and import the phrase library."""

from __future__ import annotations

import itertools
import json
import string
from pathlib import Path
from typing import Annotated

import typer

from quickphrase.model.artifact import ModelLoadError, read_model_files, resolve_model_dir
from quickphrase.phrases.formats import FORMATS, FormatError, QuickPhrase, guess_format
from quickphrase.phrases.formats import read_phrases as read_phrase_file
from quickphrase.phrases.formats import write_phrases as write_phrase_file
from quickphrase.phrases.library import SHOP_TYPES, LibraryError, load_library
from quickphrase.phrases.lint import lint_library

from .cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CONFIG,
    DisableRuleOption,
    ModelOption,
    RulesOption,
    check_shop_type,
    fail,
    load_compliance,
)
from .cli_training import load_classifier

app = typer.Typer(help="Lint, export and import the phrase library.", no_args_is_help=True)

# Which stage an imported phrase belongs to, from the intent guessed for it.
_STAGE_OF = {
    "shipping_eta": "in_sale",
    "logistics": "in_sale",
    "address_change": "in_sale",
    "invoice": "in_sale",
    "refund": "after_sale",
    "exchange": "after_sale",
    "quality_issue": "after_sale",
    "review": "after_sale",
}

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help=f"One of: {', '.join(FORMATS)} (default: from the file name (.csv, .xlsx)).",
        show_default=False,
    ),
]


def _labels(model: Path | None) -> list[str]:
    try:
        return read_model_files(resolve_model_dir(model)).labels
    except ModelLoadError as exc:
        raise fail(str(exc), EXIT_CONFIG) from None


def _format(path: Path, fmt: str | None) -> str:
    fmt = fmt or guess_format(path)
    if fmt is None:
        raise fail(f"cannot tell the format of {path}; pass --format", EXIT_BAD_INPUT)
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", EXIT_BAD_INPUT)
    return fmt


@app.command()
def lint(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Library directory (default: the bundled one).", show_default=False),
    ] = None,
    rules: RulesOption = None,
    disable_rule: DisableRuleOption = None,
    model: ModelOption = None,
) -> None:
    """Check a library: schema, duplicate ids and codes, unknown intents and variables,
    and every phrase against the compliance rules for each shop type it declares."""
    compliance = load_compliance(rules, disable_rule)
    issues = lint_library(directory, intents=_labels(model), compliance=compliance)
    for issue in issues:
        typer.echo(str(issue))
    errors = sum(i.severity == "error" for i in issues)
    warnings = len(issues) - errors
    typer.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    if errors:
        raise typer.Exit(1)


@app.command("export")
def export_phrases(
    output: Annotated[Path, typer.Argument(help="File to write.")],
    fmt: FormatOption = None,
    phrases: Annotated[
        Path | None, typer.Option("--phrases", help="Library directory (default: bundled).")
    ] = None,
    shop_type: Annotated[
        str | None, typer.Option(help="Only phrases for this shop type (taobao or tmall).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (default: the format's own).")
    ] = None,
) -> None:
    """Write the library as a 千牛, 搜狗, Rime or QQ拼音 phrase file, variables filled
    from the shop profile."""
    fmt = _format(output, fmt)
    check_shop_type(shop_type)
    try:
        library = load_library(phrases)
    except LibraryError as exc:
        raise fail(f"the phrase library has errors:\n{exc}", EXIT_CONFIG) from None
    defaults = library.defaults()
    entries, skipped = [], []
    for phrase in library.phrases:
        if shop_type is not None and shop_type not in phrase.shop_types:
            continue
        text = phrase.fill(defaults)
        if text is None:
            skipped.append(phrase.id)
            continue
        entries.append(QuickPhrase(phrase.code, text, phrase.group))
    try:
        notes = write_phrase_file(entries, output, fmt, encoding=encoding)
    except FormatError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if skipped:
        typer.echo(
            f"note: {len(skipped)} phrase(s) need a per-request value and were left out: "
            + ", ".join(skipped),
            err=True,
        )
    typer.echo(f"wrote {len(entries)} phrases to {output} ({fmt})", err=True)


def _library_code(code: str, taken: set[str]) -> str:
    """A library code (2-8 lowercase letters, unique) for an imported one:
    IMEs allow several phrases per code (搜狗 positions) and 千牛 any text."""
    base = ("".join(ch for ch in code.lower() if "a" <= ch <= "z") or "imp")[:7]
    base = base if len(base) >= 2 else base + "x"
    letters = string.ascii_lowercase
    candidates = itertools.chain(
        [base],
        (base + a for a in letters),
        (base[:6] + a + b for a, b in itertools.product(letters, repeat=2)),
    )
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    raise fail(f"too many phrases share the code {code!r}", EXIT_BAD_INPUT)


@app.command("import")
def import_phrases(
    source: Annotated[Path, typer.Argument(help="A 千牛, 搜狗, Rime or QQ拼音 phrase file.")],
    out: Annotated[Path, typer.Option("--out", help="YAML phrase file to write.")],
    fmt: FormatOption = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
    shop_type: Annotated[
        str | None,
        typer.Option(help="The shop type the phrases are for (default: both taobao and tmall)."),
    ] = None,
    model: ModelOption = None,
) -> None:
    """Turn an agent's phrase file into a library file. Intents are guessed with
    the classifier and marked for review; lint the result."""
    from quickphrase.model.classifier import OTHER

    fmt = _format(source, fmt)
    check_shop_type(shop_type)
    shop_types = [shop_type] if shop_type else list(SHOP_TYPES)
    try:
        entries = read_phrase_file(source, fmt, encoding=encoding)
    except FormatError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if out.exists():
        raise fail(f"{out} exists; choose a new file", EXIT_BAD_INPUT)
    clf = load_classifier(model)
    guesses = clf.predict_many([e.text for e in entries])
    lines = [
        f"# Imported from {source.name} ({fmt}). Intents were guessed by the",
        "# classifier from each reply's text: check them; phrases left on 'other'",
        "# are never suggested until you set their intents.",
        "phrases:",
    ]
    used_codes: set[str] = set()
    for entry, guess in zip(entries, guesses, strict=True):
        code = _library_code(entry.code, used_codes)
        used_codes.add(code)
        pid = f"imported.{code}"  # unique because the code is
        if code != entry.code:
            lines.append(f"  # code {entry.code!r} in {source.name}")
        intent = guess.intent
        lines += [
            f"  - id: {pid}",
            f"    code: {code}",
            f"    group: {json.dumps(entry.group or '导入', ensure_ascii=False)}",
            f"    intents: [{intent}]" + ("  # not suggested until set" if intent == OTHER else ""),
            f"    stage: {_STAGE_OF.get(intent, 'pre_sale')}",
            f"    shop_types: [{', '.join(shop_types)}]",
            f"    text: {json.dumps(entry.text, ensure_ascii=False)}",
            "    tags: [imported]",
        ]
    try:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}", EXIT_BAD_INPUT) from None
    typer.echo(f"wrote {len(entries)} phrases to {out}; run 'quickphrase phrases lint'", err=True)
