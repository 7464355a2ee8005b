"""The HTML report of an offline batch run.

The batch scorer streams every scored record into ``ReportBuilder.add`` and
calls ``write`` once at the end. The builder keeps only counters and capped
samples, so memory stays bounded on logs of millions of lines; the report is
one self-contained HTML file (inline CSS and SVG charts, nothing fetched).

- ``builder``: ``ReportBuilder``, the streaming counters;
- ``timestamps``, ``clusters``, ``replies``: what it reads from the records
  (the hour of day, the unanswered queue, agent replies vs suggestions);
- ``vocabulary``: the intents, verdicts and bins everything counts by;
- ``page``, ``buyer_sections``, ``agent_sections``: the page and its sections,
  built from ``markup`` (escaped HTML) and ``charts`` (inline SVG).
"""

from ..job import BatchSummary
from .agent_sections import (
    agents_table,
    compliance_section,
    feedback_section,
    replies_section,
    rule_advice,
)
from .builder import OTHER_AGENTS, UNKNOWN_AGENT, AgentStats, ReportBuilder, model_guess
from .buyer_sections import (
    confidence_section,
    coverage_section,
    hours_by_intent_table,
    hours_table,
    intents_section,
    unanswered_notes,
    unanswered_section,
)
from .charts import CHART_WIDTH, bar_chart, figure_html, hourly_chart, new_figure, svg_of
from .clusters import (
    DISTANCE_THRESHOLD,
    Cluster,
    UnansweredCounter,
    cluster_texts,
    question_core,
    training_texts,
)
from .markup import Safe, bullet_list, esc, note, number, paragraph, percent, section, table
from .page import STYLE, header_section, render_report, write_atomically
from .replies import REPLY_MATCH_JACCARD, ReplyMatches, ReplyTracker, jaccard
from .timestamps import UNKNOWN_HOUR, hour_of
from .vocabulary import CONFIDENCE_BINS, INTENTS, OTHER, VERDICTS, intent_order

__all__ = [
    "CHART_WIDTH",
    "CONFIDENCE_BINS",
    "DISTANCE_THRESHOLD",
    "INTENTS",
    "OTHER",
    "OTHER_AGENTS",
    "REPLY_MATCH_JACCARD",
    "STYLE",
    "UNKNOWN_AGENT",
    "UNKNOWN_HOUR",
    "VERDICTS",
    "AgentStats",
    "BatchSummary",
    "Cluster",
    "ReplyMatches",
    "ReplyTracker",
    "ReportBuilder",
    "Safe",
    "UnansweredCounter",
    "agents_table",
    "bar_chart",
    "bullet_list",
    "cluster_texts",
    "compliance_section",
    "confidence_section",
    "coverage_section",
    "esc",
    "feedback_section",
    "figure_html",
    "header_section",
    "hour_of",
    "hourly_chart",
    "hours_by_intent_table",
    "hours_table",
    "intent_order",
    "intents_section",
    "jaccard",
    "model_guess",
    "new_figure",
    "note",
    "number",
    "paragraph",
    "percent",
    "question_core",
    "render_report",
    "replies_section",
    "rule_advice",
    "section",
    "svg_of",
    "table",
    "training_texts",
    "unanswered_notes",
    "unanswered_section",
    "write_atomically",
]
