"""The Spark engine scores a chat log exactly as the local engine does.

One Spark local-mode run (about half a minute) over a 10,000-line log with
buyer and agent lines, quoted line breaks and malformed rows; everything
else in this file checks that run's results.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from quickphrase.engine import Engine
from quickphrase.service.batch.job import BatchJob, BatchSummary
from quickphrase.service.batch.local import run_local
from quickphrase.service.batch.rows import InputError
from quickphrase.training.chatlog import HEADER, ChatLog

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)

LINES = 10_000
# Rows the scorer must reject, placed among good ones: (fields, reason).
MALFORMED = [
    (["c9", "2026-11-22 10:00:00", "buyer", "", ""], "missing text"),
    (["c9", "2026-11-22 10:00:01", "robot", "", "你好"], "unknown role 'robot'"),
    (["c9", "2026-11-22 10:00:02", "buyer", "", "在吗", "多出来的一列"], "malformed row: 6 fields"),
]


def write_log(path: Path) -> Path:
    rows = list(ChatLog.from_dev_sets().lines(LINES - len(MALFORMED) - 2, seed=7))
    rows.append(("c8", "2026-11-22 09:00:00", "buyer", "", "这款有货吗,\n黑色M码还有吗"))
    # A quote inside a field is doubled in CSV (RFC 4180), not backslash-escaped.
    rows.append(("c9", "2026-11-22 09:01:00", "agent", "a1", '订单页点"申请开票",选"个人"就行'))
    for i, (fields, _) in enumerate(MALFORMED):
        rows.insert(1000 * (i + 1), tuple(fields))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def read_parts(directory: Path) -> list[dict[str, Any]]:
    records = [
        json.loads(line)
        for part in sorted(directory.glob("part-*"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]
    return sorted(records, key=lambda r: r["row"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from quickphrase.service.batch.spark import run_spark

    tmp = tmp_path_factory.mktemp("spark")
    log = write_log(tmp / "log.csv")
    local_job = BatchJob(log, tmp / "local.jsonl", tmp / "local.rejects.jsonl")
    local = run_local(local_job, engine=Engine())
    spark_job = BatchJob(
        log, tmp / "spark.jsonl", tmp / "spark.rejects", report=tmp / "spark.html"
    )
    try:
        spark = run_spark(spark_job, master="local[2]")
    finally:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
    return {
        "local": local,
        "spark": spark,
        "local_records": [json.loads(x) for x in local_job.output.read_text().splitlines()],
        "spark_records": read_parts(spark_job.output),
        "local_rejects": [json.loads(x) for x in local_job.rejects.read_text().splitlines()],
        "spark_rejects": read_parts(spark_job.rejects),
        "report": spark_job.report,
        "log": log,
        "tmp": tmp,
    }


def test_spark_output_equals_the_local_engines_on_10000_lines(runs: dict[str, Any]) -> None:
    local, spark = runs["local_records"], runs["spark_records"]
    assert len(local) == LINES - len(MALFORMED)
    assert spark == local


def test_spark_output_covers_buyer_and_agent_lines(runs: dict[str, Any]) -> None:
    roles = {r["role"] for r in runs["spark_records"]}
    assert roles == {"buyer", "agent"}
    assert any(r["verdict"] == "block" for r in runs["spark_records"])
    assert any(r["suggestions"] for r in runs["spark_records"])


def test_spark_rejects_the_same_rows_for_the_same_reasons(runs: dict[str, Any]) -> None:
    def reasons(rejects: list[dict[str, Any]]) -> list[tuple[int, str]]:
        return [(r["row"], r["reason"]) for r in rejects]

    assert reasons(runs["spark_rejects"]) == reasons(runs["local_rejects"])
    for (row, reason), (_, expected) in zip(
        reasons(runs["spark_rejects"]), MALFORMED, strict=True
    ):
        assert reason.startswith(expected), (row, reason)


def test_spark_summary_counts_every_line(runs: dict[str, Any]) -> None:
    spark: BatchSummary = runs["spark"]
    local: BatchSummary = runs["local"]
    assert spark.engine == "spark"
    assert (spark.lines_read, spark.scored, spark.rejected) == (
        local.lines_read,
        local.scored,
        local.rejected,
    )
    assert spark.lines_read == spark.scored + spark.rejected == LINES


def test_spark_run_writes_the_report(runs: dict[str, Any]) -> None:
    html = runs["report"].read_text(encoding="utf-8")
    assert "<svg" in html
    assert "spark" in html


def test_spark_refuses_to_overwrite_an_existing_output(runs: dict[str, Any]) -> None:
    from quickphrase.service.batch.spark import run_spark

    existing = runs["tmp"] / "spark.jsonl"
    job = BatchJob(runs["log"], existing, runs["tmp"] / "other.rejects")
    with pytest.raises(InputError, match="exists"):
        run_spark(job, master="local[1]")
