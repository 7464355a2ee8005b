"""A chat log cut into blocks of whole records, parsed where they are scored.

Why: with several workers, the process that reads the log used to parse every
line and send each worker its rows, and that one process capped the whole
run. Now it only cuts the file's bytes at record boundaries and counts the
records in each block (in C: ``bytes.split``, and for CSV the compiled
counter ``_records.pyx``, else ``csv``), so each block's first row number is
known before any worker parses it; the workers decode and parse.

A CSV block may end only where the CSV parser agrees a record ends: the cut
is first guessed from quote parity, then checked by parsing the block; a
block that would end inside a quoted field takes more of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from .parsing import (
    NEVER_CLOSED,
    Layout,
    csv_records,
    jsonl_records,
    parquet_records,
    text_records,
)
from .rows import Reject, Row

try:
    from ._records import count_csv_bytes, count_csv_records
except ImportError:  # installed without a C compiler: csv counts
    count_csv_bytes = count_csv_records = None

# Encodings whose multi-byte characters never hold a byte below 0x30, where
# quotes, line ends, commas and tabs are found in the bytes themselves.
_ASCII_SAFE = frozenset({"utf-8", "gb18030", "gbk", "gb2312", "ascii"})

BLOCK_BYTES = 1 << 17  # about 2,000 chat lines


@dataclass(frozen=True)
class Block:
    """Whole records of a log, raw, and where they start.

    ``data`` is the bytes of a text log or an Arrow record batch of a Parquet
    one; ``first_row`` is the number of records before it, ``first_line`` the
    line its first byte is on, ``records`` how many records it holds.
    """

    layout: Layout
    data: Any
    first_row: int
    first_line: int
    records: int

    def rows(self) -> list[Row | Reject]:
        """The block's records, numbered as a reader of the whole file numbers them."""
        rows = list(parse(self.layout, self.data, self.first_row, self.first_line))
        if len(rows) != self.records:  # the reader and the parser disagree: a bug, not input
            raise RuntimeError(
                f"block at line {self.first_line} holds {len(rows)} records, "
                f"but the reader counted {self.records}"
            )
        return rows


def parse(layout: Layout, data: Any, first_row: int, first_line: int) -> Iterator[Row | Reject]:
    if layout.format == "parquet":
        return parquet_records(data, layout, first_row)
    if layout.format == "jsonl":
        return jsonl_records(io.BytesIO(data), layout, first_row, first_line)
    text = data.decode(layout.encoding, "surrogateescape")
    if layout.format == "text":
        return text_records(io.StringIO(text, newline=None), first_row, first_line)
    return csv_records(io.StringIO(text, newline=""), layout, first_row, first_line)


def split(
    raw: IO[bytes], layout: Layout, first_line: int = 1, size: int = BLOCK_BYTES
) -> Iterator[Block]:
    """Blocks of whole records from ``raw`` (positioned where records start)."""
    rows, line = 0, first_line
    carry = b""
    eof = False
    while not eof:
        chunk = raw.read(size)
        eof = not chunk
        data = carry + chunk
        if not data:
            return
        cut = len(data) if eof else _cut(data, layout.format)
        if not cut:
            carry = data  # no record ends in it yet: read on
            continue
        block = data[:cut]
        counted = count(layout, block, first_row=rows, first_line=line, last=eof)
        if counted is None:  # the cut fell inside a quoted field
            carry = data
            continue
        carry = data[cut:]
        records, lines = counted
        yield Block(layout, block, rows, line, records)
        rows += records
        line += lines


def count(
    layout: Layout, block: bytes, *, first_row: int, first_line: int, last: bool
) -> tuple[int, int] | None:
    """(records, lines) in ``block``; None if it ends inside a quoted CSV field
    and more of the file follows."""
    if layout.format == "jsonl":
        return sum(map(bool, map(bytes.strip, block.split(b"\n")))), block.count(b"\n")
    if count_csv_bytes is not None and layout.format != "text" and _ascii_safe(layout.encoding):
        # Most blocks: counted without decoding them.
        records, lines = count_csv_bytes(block, layout.delimiter, csv.field_size_limit())
        if records >= 0:
            return records, lines
    text = block.decode(layout.encoding, "surrogateescape")
    lines = text.count("\n") + text.count("\r") - text.count("\r\n")
    if layout.format == "text":
        return sum(map(bool, map(str.strip, io.StringIO(text, newline=None)))), lines
    if count_csv_records is not None:
        records = count_csv_records(text, layout.delimiter, csv.field_size_limit())
        if records >= 0:  # else csv would raise: it counts below, rejects and all
            return records, lines
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter, strict=True)
    try:
        return sum(map(bool, reader)), lines
    except csv.Error:
        pass
    # Malformed CSV: count exactly as the parser will read it, rejects included.
    records = list(csv_records(io.StringIO(text, newline=""), layout, first_row, first_line))
    ends_open = bool(records) and isinstance(records[-1], Reject) and (
        NEVER_CLOSED in records[-1].reason
    )
    if ends_open and not last:
        return None
    return len(records), lines


def _ascii_safe(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _ASCII_SAFE
    except LookupError:
        return False


def _cut(data: bytes, fmt: str) -> int:
    """Where the last whole line of ``data`` ends (0: none does).

    For CSV, prefer the last line end with an even number of quotes before
    it: a line break inside a quoted field is not a record's end. Quotes that
    are plain characters can fool parity, so ``count`` checks the guess.
    """
    end = data.rfind(b"\n") + 1
    if not end and fmt != "jsonl":  # JSON Lines end at "\n" only
        # Old Mac line ends; a "\r" at the very end may be half of "\r\n".
        end = data.rfind(b"\r", 0, len(data) - 1) + 1
    if fmt not in ("csv", "tsv") or not end:
        return end
    cut, quotes = end, data.count(b'"', 0, end)
    while cut and quotes % 2:
        previous = data.rfind(b"\n", 0, cut - 1) + 1
        quotes -= data.count(b'"', previous, cut)
        cut = previous
    return cut or end


__all__ = ["BLOCK_BYTES", "Block", "count", "parse", "split"]
