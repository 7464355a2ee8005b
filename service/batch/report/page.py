"""The report page: its style, its sections in order, and writing it to disk."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..job import BatchSummary
from .agent_sections import compliance_section, feedback_section, replies_section
from .buyer_sections import (
    confidence_section,
    coverage_section,
    intents_section,
    unanswered_section,
)
from .markup import esc, number, paragraph, section

if TYPE_CHECKING:
    from .builder import ReportBuilder


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;margin:0 auto;max-width:1000px;padding:1.5rem;color:#222;
line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}td ul{margin:0;padding-left:1.1rem}
figure.chart{margin:1rem 0}figure.chart svg{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#555}
.note{color:#666;font-size:.9rem}.hours{overflow-x:auto}
.hours td,.hours th{text-align:right;padding:.2rem .3rem;font-size:.8rem}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dl.summary dt{font-weight:600}dl.summary dd{margin:0}
"""


def render_report(builder: ReportBuilder, summary: BatchSummary) -> str:
    parts = [header_section(builder, summary)]
    if builder.records == 0:
        parts.append(
            section(
                "empty",
                "Nothing to show",
                paragraph("The log had no scored records: there is nothing to show."),
            )
        )
    else:
        parts += [
            intents_section(builder),
            coverage_section(builder),
            confidence_section(builder),
            unanswered_section(builder),
            compliance_section(builder),
            replies_section(builder),
        ]
    if builder.feedback is not None:
        parts.append(feedback_section(builder.feedback))
    title = f"quickphrase batch report: {summary.source}"
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(title)}</h1>{''.join(parts)}</body></html>\n"
    )


def header_section(builder: ReportBuilder, summary: BatchSummary) -> str:
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")
    rate = summary.lines_read / summary.seconds if summary.seconds > 0 else 0.0
    facts = [
        ("Source", summary.source),
        ("Lines read", number(summary.lines_read)),
        ("Scored", number(summary.scored)),
        ("Rejected", number(summary.rejected)),
        ("Buyer / agent lines", f"{number(builder.buyer_lines)} / {number(builder.agent_lines)}"),
        ("Shop types", ", ".join(f"{k}: {number(v)}" for k, v in builder.shop_types.items())),
        ("Time taken", f"{summary.seconds:,.1f} s ({rate:,.0f} lines/s)"),
        ("Engine", summary.engine),
        ("Generated", generated),
    ]
    items = "".join(
        f'<dt>{esc(k)}</dt><dd data-key="{esc(k)}">{esc(v or "–")}</dd>' for k, v in facts
    )
    return section("summary", "Run", f'<dl class="summary">{items}</dl>')


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old report or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open rather than mkstemp: the report gets the umask's permissions, not 0600.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
