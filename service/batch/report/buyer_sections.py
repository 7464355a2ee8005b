"""The report's sections on buyer messages: intents by hour, coverage, confidence, unanswered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .charts import bar_chart, hourly_chart
from .markup import bullet_list, note, number, paragraph, percent, section, table
from .timestamps import UNKNOWN_HOUR
from .vocabulary import CONFIDENCE_BINS, intent_order

if TYPE_CHECKING:
    from .builder import ReportBuilder
    from .clusters import Cluster


def intents_section(builder: ReportBuilder) -> str:
    if not builder.buyer_lines:
        return section("intents", "Intents", note("No buyer messages in this log."))
    intents = [i for i in intent_order(builder.intents) if builder.intents[i]]
    counts = [builder.intents[i] for i in intents]
    rows = [
        (i, number(n), percent(n, builder.buyer_lines))
        for i, n in zip(intents, counts, strict=True)
    ]
    parts = [
        bar_chart(
            "chart-intents",
            intents,
            counts,
            "Buyer messages by intent",
            ylabel="buyer messages",
            horizontal=True,
        ),
        table(("intent", "buyer messages", "share"), rows, table_id="intent-counts"),
        hourly_chart("chart-hours", builder.by_hour, intent_order(builder.intents)),
        hours_table(builder),
    ]
    unknown = sum(builder.by_hour[UNKNOWN_HOUR].values())
    if unknown:
        parts.append(
            paragraph(
                f"Unknown hour: {number(unknown)} buyer messages had a missing or unreadable "
                "timestamp and are not in the hourly chart."
            )
        )
    parts.append(hours_by_intent_table(builder))
    return section("intents", "Intents", *parts)


def hours_table(builder: ReportBuilder) -> str:
    totals = [sum(counter.values()) for counter in builder.by_hour]
    head = "".join(f"<th>{h}</th>" for h in range(24)) + "<th>unknown</th>"
    cells = "".join(
        f'<td data-hour="{h if h < 24 else "unknown"}">{totals[h]}</td>' for h in range(25)
    )
    return (
        '<div class="hours"><table id="hourly"><thead><tr><th>hour</th>'
        f"{head}</tr></thead><tbody><tr><th>buyer messages</th>{cells}</tr></tbody></table></div>"
    )


def hours_by_intent_table(builder: ReportBuilder) -> str:
    intents = [i for i in intent_order(builder.intents) if builder.intents[i]]
    rows = [[i, *(builder.by_hour[h].get(i, 0) for h in range(25))] for i in intents]
    headers = ("intent", *map(str, range(24)), "unknown")
    return (
        "<details><summary>Buyer messages per hour and intent</summary>"
        f'<div class="hours">{table(headers, rows, table_id="hourly-by-intent")}</div></details>'
    )


def coverage_section(builder: ReportBuilder) -> str:
    if not builder.buyer_lines:
        return section("coverage", "Coverage", note("No buyer messages in this log."))
    covered = sum(builder.covered.values())
    intents = [i for i in intent_order(builder.intents) if builder.intents[i]]
    rows = [
        (
            i,
            number(builder.intents[i]),
            number(builder.covered.get(i, 0)),
            percent(builder.covered.get(i, 0), builder.intents[i]),
        )
        for i in intents
    ]
    rows.append(
        ("all", number(builder.buyer_lines), number(covered), percent(covered, builder.buyer_lines))
    )
    return section(
        "coverage",
        "Coverage",
        paragraph(
            f"{percent(covered, builder.buyer_lines)} of buyer messages "
            f"({number(covered)} of {number(builder.buyer_lines)}) got at least one confident "
            "suggestion; the others are in the unanswered queue below."
        ),
        table(
            ("intent", "buyer messages", "with a suggestion", "coverage"),
            rows,
            table_id="coverage-table",
        ),
    )


def confidence_section(builder: ReportBuilder) -> str:
    total = sum(builder.confidence_bins)
    if not total:
        return section("confidence", "Confidence", note("No buyer message had a confidence."))
    width = 1 / CONFIDENCE_BINS
    labels = [f"{i * width:.2f}" for i in range(CONFIDENCE_BINS)]
    rows = [
        (f"{i * width:.2f}–{(i + 1) * width:.2f}", number(n), percent(n, total))
        for i, n in enumerate(builder.confidence_bins)
    ]
    return section(
        "confidence",
        "Confidence",
        bar_chart(
            "chart-confidence",
            labels,
            builder.confidence_bins,
            "Buyer messages by the model's confidence (bins of 0.05, lower edge shown)",
            ylabel="buyer messages",
            color="#6a9f58",
        ),
        "<details><summary>Histogram as a table</summary>"
        + table(("confidence", "buyer messages", "share"), rows, table_id="confidence-table")
        + "</details>",
    )


def unanswered_section(builder: ReportBuilder) -> str:
    covered = sum(builder.covered.values())
    unanswered = builder.buyer_lines - covered
    if not builder.buyer_lines:
        return section("unanswered", "Unanswered questions", note("No buyer messages in this log."))
    if not unanswered:
        return section(
            "unanswered", "Unanswered questions", note("Every buyer message got a suggestion.")
        )
    clusters = builder.clusters()
    parts = [
        paragraph(
            f"{number(unanswered)} buyer messages ({percent(unanswered, builder.buyer_lines)}) got "
            "no suggestion (intent other, or confidence too low). Similar questions are grouped, "
            "biggest group first: these are the phrases the library is missing."
        )
    ]
    rows = [
        (
            rank,
            number(c.count),
            percent(c.count, unanswered),
            c.guess,
            number(c.texts),
            bullet_list(c.examples),
        )
        for rank, c in enumerate(clusters[: builder.clusters_shown], start=1)
    ]
    parts.append(
        table(
            ("#", "messages", "share", "model's guess", "distinct texts", "examples"),
            rows,
            table_id="clusters",
        )
    )
    parts += unanswered_notes(builder, clusters)
    return section("unanswered", "Unanswered questions", *parts)


def unanswered_notes(builder: ReportBuilder, clusters: Sequence[Cluster]) -> list[str]:
    notes = []
    if len(clusters) > builder.clusters_shown:
        rest = clusters[builder.clusters_shown :]
        notes.append(
            note(
                f"{number(len(rest))} smaller clusters ({number(sum(c.count for c in rest))} "
                "messages) are not shown."
            )
        )
    kept = builder.unanswered.entries
    if len(kept) > builder.cluster_top:
        tail = sorted(entry[0] for entry in kept.values())[: len(kept) - builder.cluster_top]
        notes.append(
            note(
                f"Only the {number(builder.cluster_top)} most frequent distinct texts were "
                f"clustered; {number(len(tail))} rarer texts ({number(sum(tail))} messages) "
                "were not."
            )
        )
    counter = builder.unanswered
    if counter.dropped_messages:
        notes.append(
            note(
                f"Dropped to bound memory: {number(counter.dropped_messages)} messages "
                f"({number(counter.dropped_texts)} rarely seen distinct texts) are counted above "
                "but not clustered."
            )
        )
    return notes
