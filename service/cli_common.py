"""What every ``quickphrase`` command shares: exit codes, errors, line streams."""

from __future__ import annotations

import json
import select
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from quickphrase.model.artifact import ModelLoadError
from quickphrase.model.normalize import LONE_SURROGATES
from quickphrase.phrases.compliance import ComplianceFilter, RuleError
from quickphrase.phrases.library import SHOP_TYPES, LibraryError

if TYPE_CHECKING:
    from quickphrase.engine import Engine

EXIT_BAD_INPUT = 2
EXIT_CONFIG = 3  # a model, phrase library or rules file that cannot be used
BATCH = 256

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model directory written by 'quickphrase train' "
        "(default: $QUICKPHRASE_MODEL, else the bundled model).",
        show_default=False,
    ),
]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="One text per line (UTF-8); '-' reads stdin."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per text.")]
ShopTypeOption = Annotated[
    str, typer.Option("--shop-type", help="taobao (C店) or tmall: the rules differ.")
]
RulesOption = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="A shop's own rules file or directory (repeatable)."),
]
DisableRuleOption = Annotated[
    list[str] | None,
    typer.Option("--disable-rule", help="Rule id or category to switch off (repeatable)."),
]


PhrasesOption = Annotated[
    Path | None,
    typer.Option(
        "--phrases",
        help="Phrase library directory (default: $QUICKPHRASE_PHRASES, else the bundled one).",
        show_default=False,
    ),
]


def load_engine(
    model: Path | None,
    phrases: Path | None,
    rules: list[Path] | None = None,
    disable: list[str] | None = None,
) -> Engine:
    from quickphrase.engine import Engine  # the engine loads everything; import on use

    try:
        return Engine(model, phrases, rules=rules or (), disable_rules=disable or ())
    except (ModelLoadError, RuleError) as exc:
        raise fail(str(exc), EXIT_CONFIG) from None
    except LibraryError as exc:
        raise fail(f"the phrase library has errors:\n{exc}", EXIT_CONFIG) from None


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def load_compliance(rules: list[Path] | None, disable: list[str] | None) -> ComplianceFilter:
    try:
        return ComplianceFilter.load(rules or (), disable=disable or ())
    except (ModelLoadError, RuleError) as exc:
        raise fail(str(exc), EXIT_CONFIG) from None


def shop_type_problem(shop_type: str | None) -> str | None:
    """Why ``shop_type`` is not one the rules know, or None (no shop type is fine)."""
    if shop_type is None or shop_type in SHOP_TYPES:
        return None
    return f"unknown shop type {shop_type!r}; use {' or '.join(SHOP_TYPES)}"


def check_shop_type(shop_type: str | None) -> None:
    """Exit 2 for a shop type the rules do not know."""
    problem = shop_type_problem(shop_type)
    if problem:
        raise fail(problem, EXIT_BAD_INPUT)


def reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_text_argument(text: str | None, file: Path | None) -> None:
    """Exactly one of a text argument and --file; the text must be real text."""
    if (text is None) == (file is None):
        raise fail("give a text or --file PATH (not both)", EXIT_BAD_INPUT)
    if text is not None:
        if not text.strip():
            raise fail("the text is empty", EXIT_BAD_INPUT)
        if LONE_SURROGATES.search(text):
            # Python maps undecodable command-line bytes to lone surrogates.
            raise fail("the text is not valid UTF-8", EXIT_BAD_INPUT)


class LineError(Exception):
    """A line that cannot be processed; reported with its number, others go on."""


Handler = Callable[[Sequence[str]], Sequence[Any]]  # results or LineError, in order


def process_file(file: Path, handle: Handler, render: Callable[[Any], str], as_json: bool) -> None:
    """Run ``handle`` over the lines of ``file`` (or stdin), writing one result
    per line in input order; exit 2 at the end if any line was rejected."""
    if str(file) == "-":
        rejected = _process_stream(sys.stdin.buffer, handle, render, as_json)
    else:
        try:
            with file.open("rb") as fh:
                rejected = _process_stream(fh, handle, render, as_json)
        except OSError as exc:
            raise fail(f"cannot read {file}: {reason(exc)}", EXIT_BAD_INPUT) from None
    if rejected:
        raise fail(f"{rejected} line(s) could not be processed (see above)", EXIT_BAD_INPUT)


def _process_stream(
    stream: BinaryIO, handle: Handler, render: Callable[[Any], str], as_json: bool
) -> int:
    rejected = 0
    batch: list[tuple[int, str | None, str]] = []

    def flush() -> None:
        nonlocal rejected
        good = [t for _, t, _ in batch if t is not None]
        results = iter(handle(good) if good else ())
        for number, text, problem in batch:
            result: Any = next(results) if text is not None else LineError(problem)
            if isinstance(result, LineError):
                rejected += 1
                typer.echo(f"error: line {number}: {result}", err=True)
                out = {"line": number, "error": str(result)}
                typer.echo(
                    json.dumps(out, ensure_ascii=False)
                    if as_json
                    else f"line {number}: error: {result}"
                )
                continue
            as_text = json.dumps(result.to_dict(), ensure_ascii=False) if as_json else None
            typer.echo(as_text or render(result))
        sys.stdout.flush()
        batch.clear()

    for number, text, problem in _lines(stream):
        batch.append((number, text, problem))
        # Batches are for throughput; a live pipe gets its answer as soon as
        # no further line is already waiting.
        if len(batch) >= BATCH or not _more_waiting(stream):
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
            yield number, None, "empty text"
        else:
            yield number, line, ""
