"""HTML building blocks that escape what they are given: tables, lists, sections."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence


class Safe(str):
    """HTML that is already escaped (or built from escaped parts)."""

    __slots__ = ()


def esc(value: object) -> Safe:
    return value if isinstance(value, Safe) else Safe(html.escape(str(value), quote=True))


def number(n: float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.1f}"


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, table_id: str) -> Safe:
    """A table; each row's first cell is also its ``data-key``, to find it by."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        f'<tr data-key="{esc(row[0])}">' + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return Safe(
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def bullet_list(items: Iterable[object]) -> Safe:
    return Safe("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>")


def section(section_id: str, title: str, *parts: str) -> str:
    return f'<section id="{section_id}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"
