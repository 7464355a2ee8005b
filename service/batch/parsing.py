"""Records from chat-log text: the one parser of each format.

The reader runs these over a whole file in one process, and worker processes
run them over blocks of it (``blocks.py``); both number records and lines from
where their text starts, so a record gets the same row, line and reject
whichever way it was read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .rows import Reject, Row

# A quoted record over this many lines is almost surely a quote left open,
# which would swallow the records after it into one message.
MAX_RECORD_LINES = 50
# What csv says when the text ends inside a quoted field, and how our reject says it.
UNCLOSED = "unexpected end of data"
NEVER_CLOSED = "is never closed"
# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape"),
# so one bad line is rejected instead of failing the whole file.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# csv's default limit (128 KiB) would stop the whole file at one giant cell.
csv.field_size_limit(16 << 20)


def too_many_fields(found: int, width: int) -> str:
    return f"malformed row: {found} fields where the header has {width}"


def undecodable(value: Any) -> bool:
    return isinstance(value, str) and _UNDECODABLE.search(value) is not None


@dataclass(frozen=True)
class Layout:
    """What a parser needs to know about a file, learnt once from its start.

    ``where`` gives, for each ``Row`` field, the CSV column holding it (None:
    absent); ``names`` the JSONL keys or Parquet columns in ``Row`` order.
    """

    format: str
    encoding: str = "utf-8"
    where: tuple[int | None, ...] = ()
    width: int = 0
    names: tuple[str, ...] = ()

    @property
    def delimiter(self) -> str:
        return "\t" if self.format == "tsv" else ","


def csv_records(
    lines: Iterable[str], layout: Layout, first_row: int = 0, first_line: int = 1
) -> Iterator[Row | Reject]:
    """Rows of CSV text after the header; ``lines`` keeps its line endings."""
    reader = csv.reader(lines, delimiter=layout.delimiter, strict=True)
    where, width = layout.where, layout.width
    number = first_row
    before = first_line - 1  # lines before ``lines`` starts
    start = first_line
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            reason = f"malformed CSV: {exc}"
            if UNCLOSED in str(exc):
                reason = f"a quote opened on line {start} {NEVER_CLOSED}"
            yield Reject(number, start, reason)
            start = before + reader.line_num + 1
            continue
        line, start = start, before + reader.line_num + 1
        if not fields:
            continue  # a blank line holds no record
        number += 1
        last = before + reader.line_num
        if last - line >= MAX_RECORD_LINES:
            yield Reject(
                number, line,
                f"one record spans lines {line}-{last}: a quote left open?",
                [f[:200] for f in fields],
            )
            continue
        if len(fields) > width:
            yield Reject(number, line, too_many_fields(len(fields), width), fields)
            continue
        yield Row(number, line, *[fields[i] if i is not None and i < len(fields)
                                  else None for i in where])


def jsonl_records(
    lines: Iterable[bytes],
    layout: Layout,
    first_row: int = 0,
    first_line: int = 1,
    check_keys: Callable[[list[str]], object] | None = None,
) -> Iterator[Row | Reject]:
    """Rows of JSON Lines; ``check_keys`` sees the first object's keys."""
    names = layout.names
    number = first_row
    for line_no, raw in enumerate(lines, start=first_line):
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
        if check_keys is not None:
            check_keys(list(obj))
            check_keys = None
        yield Row(number, line_no, *[obj.get(n) for n in names])


def text_records(
    lines: Iterable[str], first_row: int = 0, first_line: int = 1
) -> Iterator[Row | Reject]:
    """One buyer message per non-blank line."""
    number = first_row
    for line_no, line in enumerate(lines, start=first_line):
        message = line.rstrip("\r\n")
        if not message.strip():
            continue
        number += 1
        yield Row(number, line_no, message)


def parquet_records(batch: Any, layout: Layout, first_row: int = 0) -> Iterator[Row | Reject]:
    """Rows of one Arrow record batch (Parquet has no lines)."""
    present = set(batch.schema.names)
    empty = [None] * batch.num_rows
    columns = [
        batch.column(name).to_pylist() if name in present else empty for name in layout.names
    ]
    for number, values in enumerate(zip(*columns, strict=True), start=first_row + 1):
        yield Row(number, None, *values)
