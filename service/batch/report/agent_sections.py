"""The report's sections on agent replies: compliance, replies vs suggestions, acceptance."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .charts import bar_chart
from .markup import bullet_list, note, number, paragraph, percent, section, table
from .replies import REPLY_MATCH_JACCARD
from .vocabulary import VERDICTS

if TYPE_CHECKING:
    from .builder import ReportBuilder


@lru_cache(maxsize=1)
def rule_advice() -> dict[str, str]:
    """Each bundled compliance category's message to agents (records carry rule ids only)."""
    from quickphrase.phrases.compliance import ComplianceFilter, RuleError

    try:
        rules = ComplianceFilter.load(risk_model=False).rules
    except (RuleError, OSError):  # a broken install still gets its report
        return {}
    advice: dict[str, str] = {}
    for rule in rules:
        advice.setdefault(rule.category, rule.message)
    return advice


def compliance_section(builder: ReportBuilder) -> str:
    if not builder.agent_lines:
        return section("compliance", "Compliance", note("No agent replies in this log."))
    verdicts = [v for v in VERDICTS if builder.verdicts.get(v)]
    verdicts += sorted(set(builder.verdicts) - set(VERDICTS))
    verdict_rows = [
        (v, number(builder.verdicts[v]), percent(builder.verdicts[v], builder.agent_lines))
        for v in verdicts
    ]
    parts = [table(("verdict", "agent replies", "share"), verdict_rows, table_id="verdicts")]
    categories = [c for c, _ in builder.category_replies.most_common()]
    advice = builder.category_advice if builder.category_advice is not None else rule_advice()
    if categories:
        parts += [
            bar_chart(
                "chart-categories",
                categories,
                [builder.category_replies[c] for c in categories],
                "Agent replies flagged, by compliance category",
                ylabel="agent replies",
                color="#d0573b",
                horizontal=True,
            ),
            table(
                ("category", "replies flagged", "of which blocked", "advice"),
                [
                    (
                        c,
                        number(builder.category_replies[c]),
                        number(builder.category_blocks[c]),
                        advice.get(c, "–"),
                    )
                    for c in categories
                ],
                table_id="categories",
            ),
            agents_table(builder),
            "<h3>Example replies (redacted)</h3>",
            table(
                ("category", "examples"),
                [(c, bullet_list(builder.category_examples.get(c, ()))) for c in categories],
                table_id="category-examples",
            ),
        ]
    else:
        parts.append(paragraph("No agent reply broke a compliance rule."))
    return section("compliance", "Compliance", *parts)


def agents_table(builder: ReportBuilder) -> str:
    ranked = sorted(
        builder.agents.items(), key=lambda item: (-item[1].blocked, -item[1].warned, item[0])
    )
    rows = [
        (
            agent,
            number(s.replies),
            number(s.blocked),
            number(s.warned),
            ", ".join(f"{c} ({n})" for c, n in s.categories.most_common(3)) or "–",
        )
        for agent, s in ranked[: builder.agents_shown]
    ]
    parts = [
        "<h3>By agent</h3>",
        table(("agent", "replies", "blocked", "warned", "top categories"), rows, table_id="agents"),
    ]
    if len(ranked) > builder.agents_shown:
        parts.append(note(f"{number(len(ranked) - builder.agents_shown)} more agents not shown."))
    return "".join(parts)


def replies_section(builder: ReportBuilder) -> str:
    result = builder.replies.result()
    title = "Agent replies vs suggestions"
    if not result.compared:
        return section(
            "replies",
            title,
            note(
                "No agent reply follows a buyer message with suggestions in the same "
                "conversation: nothing to compare."
            ),
        )
    positions = [f"position {p}" for p in range(1, len(result.by_position) + 1)]
    rows = [
        ("compared", number(result.compared), "100.0%"),
        ("matched", number(result.matched), percent(result.matched, result.compared)),
        *(
            (label, number(n), percent(n, result.compared))
            for label, n in zip(positions, result.by_position, strict=True)
        ),
    ]
    parts = [
        paragraph(
            "Buyer messages with suggestions that an agent answered in the same conversation; "
            "matched when a reply before the buyer's next message equals a suggestion after "
            f"normalisation or shares at least {REPLY_MATCH_JACCARD:.0%} of its character "
            "bigrams."
        ),
        table(("replies", "count", "share of compared"), rows, table_id="reply-matching"),
    ]
    if result.matched:  # a chart of zeros says less than the table
        parts.append(
            bar_chart(
                "chart-reply-positions",
                positions,
                list(result.by_position),
                "Agent replies matching a suggestion, by the suggestion's position",
                ylabel="replies",
                color="#8a63b8",
            )
        )
    if result.answered_without_suggestion:
        parts.append(
            note(
                f"Agents also answered {number(result.answered_without_suggestion)} buyer messages "
                "the engine had no suggestion for."
            )
        )
    return section("replies", title, *parts)


def feedback_section(stats: Mapping[str, Any]) -> str:
    """Acceptance in the sidecar, from ``FeedbackStore.stats()``."""
    title = "Acceptance in the sidecar"
    by_position = list(stats.get("acceptance_by_position") or ())
    requests = stats.get("suggest_requests", 0)
    with_suggestions = stats.get("requests_with_suggestions", 0)
    actions = stats.get("feedback") or {}
    parts = [
        paragraph(
            f"Sidecar requests: {number(requests)}, of which {number(with_suggestions)} with "
            f"suggestions; feedback: "
            + (", ".join(f"{a} {number(n)}" for a, n in sorted(actions.items())) or "none")
            + "."
        )
    ]
    if not by_position:
        parts.append(note("No suggestion was shown in the sidecar yet."))
        return section("feedback", title, *parts)
    rows = [
        (
            p.get("position"),
            number(p.get("shown", 0)),
            number(p.get("accepted", 0)),
            number(p.get("edited", 0)),
            number(p.get("rejected", 0)),
            f"{100 * float(p.get('acceptance_rate', 0.0)):.1f}%",
        )
        for p in by_position
    ]
    parts += [
        table(
            ("position", "shown", "accepted", "edited", "rejected", "acceptance"),
            rows,
            table_id="feedback-positions",
        ),
        bar_chart(
            "chart-feedback",
            [f"position {p.get('position')}" for p in by_position],
            [100 * float(p.get("acceptance_rate", 0.0)) for p in by_position],
            "Share of shown suggestions accepted or edited, by position",
            ylabel="acceptance (%)",
            color="#c9a227",
        ),
    ]
    return section("feedback", title, *parts)
