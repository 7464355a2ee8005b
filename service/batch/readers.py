"""Chat logs in, records out: CSV/TSV, JSONL, Parquet and plain text, streamed.

A ``Source`` yields ``Row`` or ``Reject`` in file order, or ``Block``s of raw
records for worker processes to parse (``blocks.py``), and never holds more
than a chunk; ``Source.done``/``Source.total`` measure progress (bytes, or
rows for Parquet). Parsing itself is in ``parsing.py``.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import IO, Any

from .blocks import BLOCK_BYTES, Block, split
from .parsing import (
    UNCLOSED,
    Layout,
    csv_records,
    jsonl_records,
    parquet_records,
    text_records,
)
from .rows import Columns, InputError, Reject, Row

__all__ = ["FORMATS", "Block", "Source", "detect_encoding", "format_of"]

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


def _line_end(data: bytes, start: int) -> int:
    """Where the line starting at ``start`` ends ("\n", "\r\n" or "\r"), or -1."""
    ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i >= 0]
    if not ends:
        return -1
    at = min(ends)
    return at + 2 if data[at : at + 2] == b"\r\n" else at + 1


class Source:
    """An opened chat log, read once: row by row (iterate it) or in blocks.

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

    A CSV header is read, and its columns checked, when the file is opened.
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
        self._layout = Layout(self.format, names=columns.in_row_order())
        self._body_offset = 0  # where the records start: after a BOM and the header
        self._body_line = 1
        if self.format == "parquet":
            self._open_parquet()
        else:
            self._open_text_file()

    @property
    def done(self) -> int:
        return self._rows_done if self.format == "parquet" else self._counter.count

    @property
    def splittable(self) -> bool:
        """Whether ``blocks`` can cut this file (its encoding keeps line ends
        and quotes as single ASCII bytes, as UTF-8 and GBK do)."""
        if self.format in ("parquet", "jsonl"):
            return True
        return '\n\r"'.encode(self._layout.encoding) == b'\n\r"'

    def __iter__(self) -> Iterator[Row | Reject]:
        """Every record in file order, parsed in this process."""
        if self.format == "parquet":
            return chain.from_iterable(
                parquet_records(batch, self._layout, first) for batch, first in self._batches()
            )
        self._rewind()
        buffered = io.BufferedReader(self._counter, 1 << 16)
        if self.format == "jsonl":
            return jsonl_records(
                buffered, self._layout, first_line=self._body_line, check_keys=self._check_columns
            )
        text = io.TextIOWrapper(
            buffered,
            encoding=self._layout.encoding,
            errors="surrogateescape",
            newline="" if self.format in ("csv", "tsv") else None,
        )
        if self.format == "text":
            return text_records(text, first_line=self._body_line)
        if self._layout.width == 0:  # no header: an empty file
            return iter(())
        return csv_records(text, self._layout, first_line=self._body_line)

    def blocks(self, size: int = BLOCK_BYTES) -> Iterator[Block]:
        """The records in blocks of about ``size`` bytes, for other processes to parse."""
        if not self.splittable:
            raise InputError(f"cannot cut a file in {self._layout.encoding} into blocks")
        if self.format == "parquet":
            for batch, first in self._batches():
                yield Block(self._layout, batch, first, 0, batch.num_rows)
            return
        if self.format in ("csv", "tsv") and self._layout.width == 0:
            return
        self._rewind()
        checked = self.format != "jsonl"
        for block in split(self._counter, self._layout, self._body_line, size):
            if not checked:
                checked = self._check_first_object(block)
            yield block

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
        self._raw = raw
        self._counter = _Counting(raw)
        head = raw.read(SNIFF_BYTES)
        if self.format == "jsonl":
            self.encoding = self.encoding or "utf-8"
        elif self.encoding is None:
            self.encoding = detect_encoding(head)
        try:
            name = codecs.lookup(self.encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {self.encoding!r}") from None
        encoding = self.encoding
        if head.startswith(codecs.BOM_UTF8) and name in ("utf-8", "utf-8-sig"):
            self._body_offset = len(codecs.BOM_UTF8)
            encoding = "utf-8"
        self._layout = replace(self._layout, encoding=encoding)
        if self.format in ("csv", "tsv"):
            self._read_header(head, len(head) < SNIFF_BYTES)

    def _read_header(self, head: bytes, whole_file: bool) -> None:
        layout, start = self._layout, self._body_offset
        if not self.splittable:
            raise InputError(
                f"{self.path.name}: CSV in {layout.encoding} is not supported; "
                "save it as UTF-8 or GBK"
            )
        end = start
        while True:
            line_end = _line_end(head, end)
            if line_end < 0 and not whole_file:
                raise InputError(f"{self.path.name}: no CSV header line in the first MiB")
            end = len(head) if line_end < 0 else line_end
            text = head[start:end].decode(layout.encoding, "surrogateescape")
            reader = csv.reader(
                io.StringIO(text, newline=""), delimiter=layout.delimiter, strict=True
            )
            try:
                header = next(reader, None)
            except csv.Error as exc:
                if UNCLOSED in str(exc) and line_end >= 0:
                    continue  # a quoted line break in a column name
                raise InputError(f"{self.path.name}: unreadable CSV header ({exc})") from None
            break
        if header is None:
            return  # an empty file
        where = self._check_columns([h.strip() for h in header])
        self._layout = replace(layout, where=tuple(where), width=len(header))
        self._body_offset = end
        self._body_line = 1 + reader.line_num

    def _rewind(self) -> None:
        self._raw.seek(self._body_offset)
        self._counter.count = self._body_offset

    def _open_parquet(self) -> None:
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises its own error types
            raise InputError(f"{self.path}: not a readable Parquet file ({exc})") from None
        self.total = self._parquet.metadata.num_rows
        self._rows_done = 0
        self._check_columns(self._parquet.schema_arrow.names)

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

    def _check_first_object(self, block: Block) -> bool:
        """Check a JSONL log's keys on its first object; whether there was one."""
        records = jsonl_records(
            io.BytesIO(block.data), self._layout, check_keys=self._check_columns
        )
        return any(isinstance(r, Row) for r in records)

    def _batches(self) -> Iterator[tuple[Any, int]]:
        names = self._parquet.schema_arrow.names
        wanted = [c for c in dict.fromkeys(self.columns.in_row_order()) if c in names]
        first = 0
        for batch in self._parquet.iter_batches(batch_size=8192, columns=wanted):
            yield batch, first
            first += batch.num_rows
            self._rows_done = first
