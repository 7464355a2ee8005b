"""Chat-log files for the batch tests, in every input format the scorer reads."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = ("text", "role", "conversation_id", "agent_id", "timestamp", "shop_type")


def cell(value: Any) -> str:
    return "" if value is None else str(value)


def write_csv(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str] = HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows([[cell(v) for v in r] for r in rows])
    return path


def write_log(path: Path, log: Sequence[dict[str, Any]], encoding: str = "utf-8") -> Path:
    """``log`` in the format ``path``'s extension names (.txt: the messages only).

    CSV and TSV take their header from the first record's keys.
    """
    if path.suffix in (".csv", ".tsv"):
        header = list(log[0]) if log else list(HEADER)
        rows = [[r.get(c) for c in header] for r in log]
        delimiter = "\t" if path.suffix == ".tsv" else ","
        return write_csv(path, rows, header=header, encoding=encoding, delimiter=delimiter)
    if path.suffix == ".jsonl":
        lines = [json.dumps(r, ensure_ascii=False, default=str) for r in log]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(list(log)), path)  # ints, timestamps, strings
        return path
    path.write_text("".join(r["text"] + "\n" for r in log), encoding=encoding)
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    """Scored records from a JSONL, CSV or Parquet output (CSV: nested fields
    parsed, types restored)."""
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    records = []
    for r in rows:
        record: dict[str, Any] = {k: v if v != "" else None for k, v in r.items()}
        record["row"] = int(record["row"])
        if record["confidence"] is not None:
            record["confidence"] = float(record["confidence"])
        for key in ("intents", "suggestions", "violations"):
            if record[key] is not None:
                record[key] = json.loads(record[key])
        records.append(record)
    return records
