"""``quickphrase batch``: score a chat log offline, locally or on Spark."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from quickphrase.phrases.ranker import DEFAULT_K, MAX_K

from .batch.job import (
    BatchJob,
    BatchSummary,
    EngineSpec,
    Location,
    ScorerSpec,
    default_rejects,
    location,
)
from .batch.readers import FORMATS
from .batch.rows import Columns, InputError
from .cli_common import (
    EXIT_BAD_INPUT,
    DisableRuleOption,
    ModelOption,
    PhrasesOption,
    RulesOption,
    fail,
    load_engine,
    shop_type_problem,
)

SMALL_INPUT_BYTES = 4 << 20  # below this, starting worker processes costs more than it saves


def _column(flag: str, default: str, what: str) -> object:
    return typer.Option(flag, help=f"Column with {what} (default: {default}).", show_default=False)


def batch(
    input: Annotated[
        str,
        typer.Argument(
            help="Chat log: .csv/.tsv (UTF-8, UTF-8 with BOM or GBK), .jsonl, .parquet, "
            "or .txt with one buyer message per line.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o",
            help="Scored lines, in input order: .jsonl, .csv or .parquet "
            "(with --engine spark: a directory of part files).",
            show_default=False,
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option(help="Also write an HTML report for a team lead.", show_default=False),
    ] = None,
    rejects: Annotated[
        str | None,
        typer.Option(
            help="Where malformed lines go, with line number and reason "
            "(default: OUTPUT's name + .rejects.jsonl).",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local (this machine, every core) or spark (default: local).")
    ] = "local",
    shop_type: Annotated[
        str,
        typer.Option(
            "--shop-type", help="taobao or tmall, for lines without a shop type column."
        ),
    ] = "taobao",
    input_format: Annotated[
        str | None,
        typer.Option(help=f"{', '.join(FORMATS)} (default: from the extension).",
                     show_default=False),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Encoding of a CSV or text input, e.g. gbk (default: detected).",
                     show_default=False),
    ] = None,
    text_col: Annotated[str | None, _column("--text-col", "text", "the message")] = None,
    role_col: Annotated[
        str | None, _column("--role-col", "role", "buyer or agent; without it, all buyer")
    ] = None,
    conversation_col: Annotated[
        str | None, _column("--conversation-col", "conversation_id", "the conversation id")
    ] = None,
    agent_col: Annotated[str | None, _column("--agent-col", "agent_id", "the agent id")] = None,
    time_col: Annotated[str | None, _column("--time-col", "timestamp", "the time")] = None,
    shop_type_col: Annotated[
        str | None, _column("--shop-type-col", "shop_type", "taobao or tmall")
    ] = None,
    k: Annotated[int, typer.Option("-k", help=f"Suggestions per buyer line (1-{MAX_K}).")] = (
        DEFAULT_K
    ),
    workers: Annotated[
        int | None,
        typer.Option(
            help="Scoring processes (default: one per core; one for inputs under 4 MB).",
            show_default=False,
        ),
    ] = None,
    cache_size: Annotated[
        int,
        typer.Option(help="Distinct messages remembered per process, so repeats are free "
                     "(0: off)."),
    ] = 100_000,
    spark_master: Annotated[
        str | None,
        typer.Option(help="Spark master URL for --engine spark (default: spark-submit's, "
                     "else local[*]).", show_default=False),
    ] = None,
    phrases: PhrasesOption = None,
    rules: RulesOption = None,
    disable_rule: DisableRuleOption = None,
    model: ModelOption = None,
) -> None:
    """Score a chat log: intents and suggestions for buyer lines, compliance for agent lines."""
    given = {
        "text": text_col, "role": role_col, "conversation": conversation_col,
        "agent": agent_col, "time": time_col, "shop_type": shop_type_col,
    }
    columns = Columns(**{k_: v for k_, v in given.items() if v})
    named = frozenset(v for name, v in given.items() if v and name != "text")
    problems = []
    if engine not in ("local", "spark"):
        problems.append(f"unknown engine {engine!r}; use local or spark")
    if problem := shop_type_problem(shop_type):
        problems.append(problem)
    if not 1 <= k <= MAX_K:
        problems.append(f"-k must be between 1 and {MAX_K}")
    if workers is not None and workers < 1:
        problems.append("--workers must be at least 1")
    if cache_size < 0:
        problems.append("--cache-size cannot be negative")
    if engine == "local" and any("://" in p for p in (input, output, rejects or "")):
        problems.append("URIs (hdfs://, s3a://...) need --engine spark")
    if problems:
        raise fail("; ".join(problems), EXIT_BAD_INPUT)
    spec = ScorerSpec(
        EngineSpec(model, phrases, tuple(rules or ()), tuple(disable_rule or ())),
        shop_type=shop_type, k=k, cache_size=cache_size,
    )
    job = BatchJob(
        input=location(input),
        output=location(output),
        rejects=location(rejects) if rejects else default_rejects(location(output)),
        report=report,
        input_format=input_format,
        encoding=encoding,
        columns=columns,
        required=named,
        scorer=spec,
        workers=workers or _default_workers(input),
    )
    # Load the engine here first: a broken model or library fails at once,
    # with the same message as every other command, before any worker starts.
    loaded = load_engine(model, phrases, rules, disable_rule)
    try:
        if engine == "spark":
            from .batch.spark import run_spark

            summary = run_spark(job, master=spark_master)
        else:
            from .batch.local import run_local
            from .batch.progress import BarProgress

            summary = run_local(job, BarProgress(), engine=loaded)
    except InputError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no output written", 130) from None
    typer.echo(_summary_line(summary, job), err=True)


def _default_workers(input: Location) -> int:
    try:
        small = Path(input).stat().st_size < SMALL_INPUT_BYTES
    except OSError:
        small = True  # the reader reports the missing file
    return 1 if small else max(1, os.cpu_count() or 1)


def _summary_line(summary: BatchSummary, job: BatchJob) -> str:
    rate = summary.lines_read / summary.seconds if summary.seconds else 0.0
    line = (
        f"{summary.lines_read:,} lines read, {summary.scored:,} scored, "
        f"{summary.rejected:,} rejected in {summary.seconds:.1f} s ({rate:,.0f} lines/s) "
        f"-> {job.output}"
    )
    if summary.rejected:
        line += f"; rejects: {job.rejects}"
    if job.report:
        line += f"; report: {job.report}"
    return line
