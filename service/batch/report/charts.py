"""Charts as inline SVG, drawn with matplotlib (imported only when a chart is drawn)."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .markup import esc

CHART_WIDTH = 7.2  # inches at 100 dpi: about 720 px


def svg_of(figure: Any, chart_id: str) -> str:
    """The figure as inline SVG: text kept as text, ids made unique on the page."""
    import matplotlib

    buffer = io.StringIO()
    rc = {"svg.fonttype": "none", "svg.hashsalt": "quickphrase-report"}
    with matplotlib.rc_context(rc):
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prolog or DOCTYPE inside HTML
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    # matplotlib names its elements "figure_1", "axes_1"... in every figure.
    prefix = f"{chart_id}-"
    return (
        svg.replace(' id="', f' id="{prefix}')
        .replace('href="#', f'href="#{prefix}')
        .replace("url(#", f"url(#{prefix}")
    )


def figure_html(chart_id: str, svg: str, caption: str) -> str:
    return (
        f'<figure class="chart" id="{chart_id}">{svg}'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def new_figure(height: float) -> tuple[Any, Any]:
    # Figure, not pyplot: no global backend or figure registry is touched.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(CHART_WIDTH, height), dpi=100)
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def bar_chart(
    chart_id: str,
    labels: Sequence[str],
    values: Sequence[float],
    caption: str,
    *,
    ylabel: str,
    color: str = "#3b7dd8",
    horizontal: bool = False,
) -> str:
    figure, axes = new_figure(max(2.4, 0.28 * len(labels) + 0.8) if horizontal else 3.0)
    if horizontal:
        positions = range(len(labels))[::-1]  # first label on top
        axes.barh(list(positions), values, color=color)
        axes.set_yticks(list(positions), labels)
        axes.set_xlabel(ylabel)
        axes.set_xlim(left=0)
    else:
        axes.bar(range(len(labels)), values, color=color)
        axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0)
    return figure_html(chart_id, svg_of(figure, chart_id), caption)


def hourly_chart(
    chart_id: str, by_hour: Sequence[Mapping[str, int]], intents: Sequence[str]
) -> str:
    import matplotlib

    figure, axes = new_figure(3.6)
    colors = matplotlib.colormaps["tab20"]
    bottom = [0] * 24
    for index, intent in enumerate(intents):
        heights = [by_hour[hour].get(intent, 0) for hour in range(24)]
        if any(heights):
            axes.bar(range(24), heights, bottom=bottom, color=colors(index % 20), label=intent)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_xticks(range(24))
    axes.set_xlabel("hour of day")
    axes.set_ylabel("buyer messages")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    caption = "Buyer messages per hour of day, stacked by intent"
    return figure_html(chart_id, svg_of(figure, chart_id), caption)
