"""Chat logs in, records out: CSV/TSV, JSONL, Parquet and plain text, streamed.

Every reader yields ``Row`` or ``Reject`` in file order and never holds more
than one chunk; ``Source.done``/``Source.total`` measure progress (bytes, or
rows for Parquet).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from .rows import Columns, InputError, Reject, Row

FORMATS = ("csv", "tsv", "jsonl", "parquet", "text")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
    ".text": "text",
}
SNIFF_BYTES = 1 << 20
MOSTLY_BROKEN = 0.3
# A quoted record over this many lines is almost surely a quote left open,
# which would swallow the records after it into one message.
MAX_RECORD_LINES = 50
# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape"),
# so one bad line is rejected instead of failing the whole file.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# csv's default limit (128 KiB) would stop the whole file at one giant cell.
csv.field_size_limit(16 << 20)


def format_of(path: Path, given: str | None = None) -> str:
    if given:
        if given not in FORMATS:
            raise InputError(f"unknown input format {given!r}; use one of {', '.join(FORMATS)}")
        return given
    suffixes = [s.lower() for s in path.suffixes]
    fmt = _EXTENSIONS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {path.name} from its extension; "
            f"use --input-format ({', '.join(FORMATS)})"
        )
    return fmt


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030, the superset of GBK, from a sample."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("the file is UTF-16; save it as UTF-8 or GBK")
    # final=False: the sample may end inside a character.
    as_utf8 = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    broken = as_utf8.count("\ufffd")
    if not broken:
        return "utf-8"
    # GBK read as UTF-8 breaks on nearly every byte of a Chinese character; a
    # UTF-8 log with a few cut characters breaks rarely, and those lines are
    # rejected.
    high = sum(1 for b in head if b >= 0x80)
    return "gb18030" if broken > MOSTLY_BROKEN * high else "utf-8"


def too_many_fields(found: int, width: int) -> str:
    return f"malformed row: {found} fields where the header has {width}"


def undecodable(value: Any) -> bool:
    return isinstance(value, str) and _UNDECODABLE.search(value) is not None


class _Counting(io.RawIOBase):
    """A binary file that counts the bytes read through it (for progress)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self.count += n or 0
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class Source:
    """An opened chat log.

    Parameters
    ----------
    path:
        The file.
    fmt:
        One of ``FORMATS``; default: from the extension.
    encoding:
        Text encoding of CSV, TSV and text files; default: detected.
    columns:
        Input column names.
    required:
        Column names that must exist besides the text column (columns the
        user named explicitly).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        encoding: str | None = None,
        columns: Columns = Columns(),  # noqa: B008 - frozen, so sharing is safe
        required: frozenset[str] = frozenset(),
    ) -> None:
        self.path = Path(path)
        self.format = format_of(self.path, fmt)
        self.columns = columns
        self.required = required
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file")
        self.encoding = encoding
        self._records: Iterator[Row | Reject]
        if self.format == "parquet":
            self._open_parquet()
        else:
            self._open_text_file()

    @property
    def done(self) -> int:
        return self._rows_done if self.format == "parquet" else self._counter.count

    def __iter__(self) -> Iterator[Row | Reject]:
        return self._records

    def close(self) -> None:
        if self.format != "parquet":
            self._counter.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- opening ------------------------------------------------------------

    def _open_text_file(self) -> None:
        self.total = self.path.stat().st_size
        raw = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self._counter = _Counting(raw)
        if self.format == "jsonl":
            self.encoding = self.encoding or "utf-8"
            self._records = self._jsonl(io.BufferedReader(self._counter, 1 << 16))
            return
        if self.encoding is None:
            self.encoding = detect_encoding(raw.read(SNIFF_BYTES))
            raw.seek(0)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise InputError(f"unknown encoding {self.encoding!r}") from None
        text = io.TextIOWrapper(
            io.BufferedReader(self._counter, 1 << 16),
            encoding=self.encoding,
            errors="surrogateescape",
            newline="" if self.format in ("csv", "tsv") else None,
        )
        if self.format == "text":
            self._records = self._text(text)
        else:
            self._records = self._csv(text, "\t" if self.format == "tsv" else ",")

    def _open_parquet(self) -> None:
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises its own error types
            raise InputError(f"{self.path}: not a readable Parquet file ({exc})") from None
        self.total = self._parquet.metadata.num_rows
        self._rows_done = 0
        names = self._parquet.schema_arrow.names
        self._check_columns(names)
        self._records = self._parquet_rows(names)

    def _check_columns(self, found: list[str]) -> list[int | None]:
        """Where each Row field's column is, failing on a missing required one."""
        missing = [c for c in (self.columns.text, *sorted(self.required)) if c not in found]
        if missing:
            shown = ", ".join(repr(c) for c in found) or "none"
            raise InputError(
                f"{self.path.name}: no column {', '.join(repr(c) for c in missing)}; "
                f"columns found: {shown} (set the column with --text-col and friends)"
            )
        return [found.index(c) if c in found else None for c in self.columns.in_row_order()]

    # -- record streams -----------------------------------------------------

    def _csv(self, text: IO[str], delimiter: str) -> Iterator[Row | Reject]:
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{self.path.name}: unreadable CSV header ({exc})") from None
        if header and header[0].startswith("\ufeff"):  # a BOM the sniffer was told to keep
            header[0] = header[0][1:]
        where = self._check_columns([h.strip() for h in header])
        width = len(header)
        number = 0
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                reason = f"malformed CSV: {exc}"
                if "unexpected end of data" in str(exc):
                    reason = f"a quote opened on line {start} is never closed"
                yield Reject(number, start, reason)
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not fields:
                continue  # a blank line holds no record
            number += 1
            if reader.line_num - line >= MAX_RECORD_LINES:
                yield Reject(
                    number, line,
                    f"one record spans lines {line}-{reader.line_num}: a quote left open?",
                    [f[:200] for f in fields],
                )
                continue
            if len(fields) > width:
                yield Reject(number, line, too_many_fields(len(fields), width), fields)
                continue
            yield Row(number, line, *[fields[i] if i is not None and i < len(fields)
                                      else None for i in where])

    def _jsonl(self, lines: IO[bytes]) -> Iterator[Row | Reject]:
        names = self.columns.in_row_order()
        checked = False
        number = 0
        for line_no, raw in enumerate(lines, start=1):
            if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            if not raw.strip():
                continue
            number += 1
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                shown = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
                reason = (
                    "undecodable bytes (not UTF-8)"
                    if "utf-8" in str(exc).lower()
                    else f"invalid JSON: {exc}"
                )
                yield Reject(number, line_no, reason, shown)
                continue
            if not isinstance(obj, dict):
                yield Reject(number, line_no, "not a JSON object", obj)
                continue
            if not checked:
                self._check_columns(list(obj))
                checked = True
            yield Row(number, line_no, *[obj.get(n) for n in names])

    def _text(self, text: IO[str]) -> Iterator[Row | Reject]:
        number = 0
        for line_no, line in enumerate(text, start=1):
            message = line.rstrip("\r\n")
            if line_no == 1:
                message = message.removeprefix("\ufeff")
            if not message.strip():
                continue
            number += 1
            yield Row(number, line_no, message)

    def _parquet_rows(self, names: list[str]) -> Iterator[Row | Reject]:
        wanted = [c for c in self.columns.in_row_order() if c in names]
        number = 0
        for batch in self._parquet.iter_batches(batch_size=8192, columns=wanted):
            data = {name: batch.column(name).to_pylist() for name in wanted}
            empty = [None] * batch.num_rows
            columns = [data.get(c, empty) for c in self.columns.in_row_order()]
            for values in zip(*columns, strict=True):
                number += 1
                yield Row(number, None, *values)
            self._rows_done = number
