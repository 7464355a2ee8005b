"""Scored records out: JSONL, CSV or Parquet by extension, streamed.

A writer fills ``NAME.partial`` and renames it on ``close``, so a run that
stops half-way never leaves a file that looks finished.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .rows import InputError
from .scoring import FIELDS
from .shared_output import Placed

OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_NESTED = ("intents", "suggestions", "violations")
ROW_GROUP = 65536


def output_format(path: Path) -> str:
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the output format of {path.name}; "
            f"end it in {', '.join(OUTPUT_FORMATS)}"
        )
    return fmt


def parquet_schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    return pa.schema(
        [
            ("row", pa.int64()),
            ("role", text),
            ("conversation_id", text),
            ("agent_id", text),
            ("timestamp", text),
            ("shop_type", text),
            ("text", text),
            ("intent", text),
            ("confidence", pa.float64()),
            ("intents", pa.list_(pa.struct([("intent", text), ("score", pa.float64())]))),
            (
                "suggestions",
                pa.list_(
                    pa.struct(
                        [("phrase_id", text), ("text", text), ("intent", text),
                         ("score", pa.float64())]
                    )
                ),
            ),
            ("verdict", text),
            (
                "violations",
                pa.list_(
                    pa.struct(
                        [("rule", text), ("category", text), ("severity", text),
                         ("start", pa.int64()), ("end", pa.int64())]
                    )
                ),
            ),
            ("redacted", text),
        ]
    )


@dataclass(frozen=True)
class Spilled:
    """Encoded output a worker process left in a file of its own."""

    path: str
    size: int


def encode(fmt: str, records: list[dict[str, Any]]) -> Any:
    """Records in the output format's own form: bytes for JSONL and CSV, an
    Arrow table for Parquet. Worker processes encode, so the process that
    writes only copies bytes."""
    if fmt == "jsonl":
        return b"".join([orjson.dumps(r) + b"\n" for r in records])
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([_csv_row(r) for r in records])
        return buffer.getvalue().encode("utf-8")
    import pyarrow as pa

    return pa.Table.from_pylist(records, schema=parquet_schema())


class RecordWriter:
    """Writes records to ``path`` in the format its extension names."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._handed_over = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _open(self) -> None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(self._partial, parquet_schema())
            self._tables: list[Any] = []
            self._rows = 0
            return
        self._file = open(self._partial, "wb")  # noqa: SIM115 - closed by close()
        if self.format == "csv":
            # With a BOM, Excel and WPS open the Chinese text as UTF-8.
            header = io.StringIO()
            csv.writer(header).writerow(FIELDS)
            self._file.write(codecs.BOM_UTF8 + header.getvalue().encode("utf-8"))

    def write(self, records: list[dict[str, Any]]) -> None:
        self.write_encoded(encode(self.format, records))

    def write_encoded(self, encoded: Any) -> None:
        """Write what ``encode(self.format, records)`` returned, or the
        ``Spilled`` file holding it (which is then deleted); ``Placed``
        output is in the file already."""
        if isinstance(encoded, Placed):
            if not self._handed_over:
                raise RuntimeError("output placed in a file that was not handed over")
            return
        if self._handed_over:
            raise RuntimeError("the file is handed over to the workers: write with them")
        if isinstance(encoded, Spilled):
            self._copy_in(encoded)
        elif self.format == "parquet":
            # Chunks are small; a row group per chunk would make a slow file.
            self._tables.append(encoded)
            self._rows += encoded.num_rows
            if self._rows >= ROW_GROUP:
                self._flush_tables()
        else:
            self._file.write(encoded)

    def hand_over(self) -> tuple[str, int]:
        """Let worker processes write the records into the unfinished file
        (``shared_output``): its path and where the records start."""
        self._file.flush()
        self._handed_over = True
        return str(self._partial), self._file.tell()

    def take_back(self, end: int) -> None:
        """The workers are done and their records end at byte ``end``."""
        size = os.fstat(self._file.fileno()).st_size
        if size != end:  # a block written twice or not at all: never rename it finished
            raise RuntimeError(f"the workers left {size} bytes where {end} were reserved")
        self._file.seek(end)
        self._handed_over = False

    def _copy_in(self, spilled: Spilled) -> None:
        # Not shared_output's copy: workers spill where there is no os.pwrite
        # (Windows), so this copy appends through the file object instead.
        self._file.flush()
        # In the kernel where it can (Linux): the bytes never pass through here.
        copy_range = getattr(os, "copy_file_range", None)
        with open(spilled.path, "rb") as part:
            copied = 0
            try:
                while copy_range is not None and copied < spilled.size:
                    n = copy_range(part.fileno(), self._file.fileno(), spilled.size - copied)
                    if not n:
                        break
                    copied += n
            except OSError:  # a file system that cannot
                pass
            if copied < spilled.size:
                part.seek(copied)
                shutil.copyfileobj(part, self._file)
                copied = part.tell()
        os.unlink(spilled.path)
        if copied != spilled.size:
            raise OSError(f"{spilled.path} held {copied} bytes, not {spilled.size}")

    def close(self) -> None:
        """Finish the file and give it its real name."""
        self._close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Drop the unfinished file (the input is untouched, so nothing is lost)."""
        try:
            self._close()
        finally:
            self._partial.unlink(missing_ok=True)

    def _flush_tables(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._parquet.write_table(pa.concat_tables(self._tables))
        self._tables, self._rows = [], 0

    def _close(self) -> None:
        if self.format == "parquet":
            self._flush_tables()
            self._parquet.close()
        else:
            self._file.close()


def _csv_row(record: dict[str, Any]) -> list[Any]:
    row = [record[f] for f in FIELDS]
    for i in _NESTED_AT:
        if row[i] is not None:
            row[i] = orjson.dumps(row[i]).decode()
    return row


_NESTED_AT = tuple(FIELDS.index(f) for f in _NESTED)


class RejectWriter:
    """Rejected lines as JSONL: row, line, reason and the values read
    (``NAME.partial`` until ``close``, like ``RecordWriter``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self.count = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._partial, "wb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def write(self, rejects: Iterable[dict[str, Any]]) -> None:
        for reject in rejects:
            self._file.write(orjson.dumps(_printable(reject), default=repr) + b"\n")
            self.count += 1

    def close(self) -> None:
        self._file.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


def _printable(value: Any) -> Any:
    """Undecodable bytes (kept as lone surrogates) shown as \\xNN escapes."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value
