"""The Spark engine: the same ``Scorer`` run by PySpark's ``mapInPandas``.

The driver reads the model, phrase library and rule files once and broadcasts
their bytes; each Python worker unpacks them and builds one engine (one
onnxruntime session, one jieba tokenizer) that it keeps for every batch it is
given. Spark's own readers split the input, so the log never has to fit on
one machine; records are numbered in file order with ``zipWithIndex``.

Output is a directory of part files in the format of OUTPUT's extension, as
Spark writes; records carry ``row``, so sorting by it restores input order.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from quickphrase.model.artifact import resolve_model_dir
from quickphrase.model.risk import RiskModel
from quickphrase.phrases.library import resolve_library_dir

from .job import BatchJob, BatchSummary, EngineSpec, ScorerSpec
from .parsing import too_many_fields
from .readers import detect_encoding, format_of
from .rows import InputError, Reject, Row
from .scoring import FIELDS, Scorer
from .writers import output_format

REJECT_FIELDS = ("row", "line", "reason", "raw")
_ROW_FIELDS = Row._fields[2:]  # the values of a Row, after its row and line numbers
CORRUPT = "_corrupt_record"
_FRAME_FIELDS = (*_ROW_FIELDS, CORRUPT)


# -- shipping the engine ------------------------------------------------------


def pack_engine(spec: EngineSpec) -> dict[str, bytes]:
    """Every file the engine reads, by a relative name, for executors to unpack."""
    files: dict[str, bytes] = {}

    def add(prefix: str, source: Path) -> None:
        paths = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in paths:
            name = path.relative_to(source).as_posix() if source.is_dir() else path.name
            files[f"{prefix}/{name}"] = path.read_bytes()

    add("model", resolve_model_dir(spec.model_dir))
    add("risk", RiskModel.resolve_dir(spec.risk_model_dir))
    add("phrases", resolve_library_dir(spec.phrases_dir))
    for i, rules in enumerate(spec.rules):
        add(f"rules/{i}", Path(rules))
    return files


def unpack_engine(files: dict[str, bytes], spec: EngineSpec, into: Path) -> EngineSpec:
    """Write packed files under ``into``; the spec that reads them from there."""
    for name, data in files.items():
        path = into / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    rules = tuple(
        into / f"rules/{i}" / (Path(r).name if Path(r).is_file() else "")
        for i, r in enumerate(spec.rules)
    )
    return EngineSpec(into / "model", into / "phrases", rules, spec.disable_rules, into / "risk")


_scorers: dict[str, Scorer] = {}  # per Python worker, by job


def _worker_scorer(broadcast: Any, spec: ScorerSpec, job_id: str) -> Scorer:
    scorer = _scorers.get(job_id)
    if scorer is None:
        unpacked = unpack_engine(
            broadcast.value, spec.engine, Path(tempfile.mkdtemp(prefix="quickphrase-"))
        )
        scorer = ScorerSpec(unpacked, spec.shop_type, spec.k, spec.cache_size).build()
        _scorers[job_id] = scorer
    return scorer


# -- the job ------------------------------------------------------------------


def output_schema() -> Any:
    """Scored records and rejects in one frame; ``reason`` is set on rejects."""
    from pyspark.sql import types as t

    from .writers import parquet_schema

    fields = [t.StructField(f.name, _spark_type(f.type)) for f in parquet_schema()]
    fields += [
        t.StructField("line", t.LongType()),
        t.StructField("reason", t.StringType()),
        t.StructField("raw", t.StringType()),
    ]
    return t.StructType(fields)


def _spark_type(arrow_type: Any) -> Any:
    import pyarrow as pa
    from pyspark.sql import types as t

    if pa.types.is_list(arrow_type):
        return t.ArrayType(_spark_type(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        return t.StructType(
            [t.StructField(f.name, _spark_type(f.type)) for f in arrow_type]
        )
    if pa.types.is_int64(arrow_type):
        return t.LongType()
    if pa.types.is_float64(arrow_type):
        return t.DoubleType()
    return t.StringType()


def score_partitions(
    batches: Iterator[Any], broadcast: Any, spec: ScorerSpec, job_id: str, width: int
) -> Iterator[Any]:
    """``mapInPandas`` body: pandas frames of (index, input columns) in, scored out."""
    import orjson
    import pandas as pd

    scorer = _worker_scorer(broadcast, spec, job_id)
    columns = [*FIELDS, "line", "reason", "raw"]
    for frame in batches:
        rows: list[Row | Reject] = []
        for index, *values, corrupt in frame[["_index", *_FRAME_FIELDS]].itertuples(index=False):
            if _value(corrupt) is not None:
                found = len(next(csv.reader([corrupt]), []))
                rows.append(Reject(int(index) + 1, None, too_many_fields(found, width), corrupt))
            else:
                rows.append(Row(int(index) + 1, None, *(_value(v) for v in values)))
        out = []
        for result in scorer.score(rows):
            if isinstance(result, Reject):
                item = dict.fromkeys(columns)
                item.update(row=result.row, line=result.line, reason=result.reason,
                            raw=result.raw if isinstance(result.raw, str)
                            else orjson.dumps(result.raw, default=repr).decode())
                out.append(item)
            else:
                out.append({**result, "line": None, "reason": None, "raw": None})
        yield pd.DataFrame(out, columns=columns)


def _value(value: Any) -> Any:
    # pandas hands over missing values as None or NaN.
    return None if value is None or (isinstance(value, float) and value != value) else value


def run_spark(job: BatchJob, master: str | None = None) -> BatchSummary:
    """Score ``job.input`` on Spark into the directory ``job.output``."""
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as fn
    except ImportError:
        raise InputError(
            "the Spark engine needs PySpark: pip install 'quickphrase[spark]'"
        ) from None
    started = time.perf_counter()
    if "://" not in str(job.input) and not Path(job.input).exists():
        raise InputError(f"{job.input}: no such file or directory")
    # Only the last part of a URI names a file (Path would fold its "//").
    fmt = format_of(Path(str(job.input).rstrip("/").rsplit("/", 1)[-1]), job.input_format)
    out_fmt = output_format(Path(str(job.output).rsplit("/", 1)[-1]))
    for target in (job.output, job.rejects):
        if "://" not in str(target) and Path(target).exists():
            raise InputError(f"{target} exists; Spark writes a new directory (remove it first)")
    # Local mode runs workers with this interpreter, which has quickphrase.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("quickphrase batch")
    if master:
        builder = builder.master(master)
    elif "spark.master" not in _submitted_conf():
        builder = builder.master("local[*]")
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spec = job.scorer
    broadcast = spark.sparkContext.broadcast(pack_engine(spec.engine))
    job_id = uuid.uuid4().hex
    frame, width = _read(spark, job, fmt)
    schema = output_schema()
    scored = frame.mapInPandas(
        lambda batches: score_partitions(batches, broadcast, spec, job_id, width), schema
    ).persist()
    try:
        records = scored.where(fn.col("reason").isNull()).select(*FIELDS)
        rejects = scored.where(fn.col("reason").isNotNull()).select(*REJECT_FIELDS)
        _write(records, job.output, out_fmt)
        rejects.coalesce(1).write.mode("errorifexists").option(
            "ignoreNullFields", False
        ).json(str(job.rejects))
        counts = dict(
            scored.groupBy(fn.col("reason").isNull().alias("ok")).count().collect()
        )
    finally:
        scored.unpersist()
    summary = BatchSummary(
        source=str(job.input),
        lines_read=sum(counts.values()),
        scored=counts.get(True, 0),
        rejected=counts.get(False, 0),
        seconds=time.perf_counter() - started,
        engine="spark",
    )
    if job.report is not None:
        _report(spark, job, out_fmt, summary)
    return summary


def _submitted_conf() -> dict[str, str]:
    """Settings spark-submit passed down (it sets the master there)."""
    from pyspark import SparkConf

    return dict(SparkConf().getAll())


def _read(spark: Any, job: BatchJob, fmt: str) -> tuple[Any, int]:
    """The input as (_index, Row fields..., _corrupt_record), and the CSV header's width."""
    from pyspark.sql import functions as fn
    from pyspark.sql import types as t

    path = str(job.input)
    cols = job.columns
    reader = spark.read
    if fmt in ("csv", "tsv"):
        encoding = job.encoding
        if encoding is None and "://" not in path:
            with open(path, "rb") as fh:
                encoding = detect_encoding(fh.read(1 << 20))
        sep = "\t" if fmt == "tsv" else ","
        options = {
            "header": True,
            "sep": sep,
            "encoding": "UTF-8" if encoding in (None, "utf-8-sig") else encoding,
            "multiLine": True,  # messages may hold line breaks inside quotes
            # RFC 4180, as Python's csv writes it: a quote inside a quoted field
            # is doubled (点""申请开票""). Spark's default escape is a backslash.
            "escape": '"',
        }
        header = reader.options(**options).csv(path).columns
        names = [c.lstrip("\ufeff").strip() for c in header]
        # Every column a string, as the local reader has them; a row with more
        # fields than the header lands in _corrupt instead of being cut short.
        schema = t.StructType(
            [t.StructField(c, t.StringType()) for c in header]
            + [t.StructField(CORRUPT, t.StringType())]
        )
        frame = (
            reader.options(**options)
            .option("columnNameOfCorruptRecord", CORRUPT)
            .option("emptyValue", "")
            .schema(schema)
            .csv(path)
            .toDF(*names, CORRUPT)
        )
    elif fmt == "jsonl":
        frame = reader.option("primitivesAsString", True).json(path)
    elif fmt == "parquet":
        frame = reader.parquet(path)
    else:
        frame = reader.text(path).withColumnRenamed("value", cols.text)
        frame = frame.where(fn.trim(fn.col(cols.text)) != "")
    missing = [c for c in (cols.text, *sorted(job.required)) if c not in frame.columns]
    if missing:
        raise InputError(
            f"{job.input}: no column {', '.join(repr(c) for c in missing)}; "
            f"columns found: {', '.join(repr(c) for c in frame.columns) or 'none'}"
        )
    selected = [
        (fn.col(name).cast("string") if name in frame.columns else fn.lit(None).cast("string"))
        .alias(field)
        for name, field in zip((*cols.in_row_order(), CORRUPT), _FRAME_FIELDS, strict=True)
    ]
    # zipWithIndex numbers records in file order across partitions.
    indexed = frame.select(*selected).rdd.zipWithIndex().map(lambda pair: (pair[1], *pair[0]))
    schema = t.StructType(
        [t.StructField("_index", t.LongType())]
        + [t.StructField(f, t.StringType()) for f in _FRAME_FIELDS]
    )
    return spark.createDataFrame(indexed, schema), len(frame.columns) - 1


def _write(records: Any, output: Path, fmt: str) -> None:
    from pyspark.sql import functions as fn

    writer_frame = records
    if fmt == "csv":
        writer_frame = records.select(
            *[
                fn.to_json(fn.col(c)).alias(c) if c in ("intents", "suggestions", "violations")
                else fn.col(c)
                for c in FIELDS
            ]
        )
    writer = writer_frame.write.mode("errorifexists")
    if fmt == "jsonl":
        writer.option("ignoreNullFields", False).json(str(output))
    elif fmt == "csv":
        writer.option("header", True).option("escape", '"').csv(str(output))
    else:
        writer.parquet(str(output))


def _report(spark: Any, job: BatchJob, fmt: str, summary: BatchSummary) -> None:
    """Feed the written records back, in input order, to the report."""
    from .report import ReportBuilder

    reader = {"jsonl": spark.read.json, "parquet": spark.read.parquet}.get(fmt)
    if reader is None:
        raise InputError("with --engine spark, --report needs a .jsonl or .parquet output")
    report = ReportBuilder()
    for row in reader(str(job.output)).orderBy("row").toLocalIterator():
        report.add(row.asDict(recursive=True))
    assert job.report is not None
    report.write(job.report, summary)
