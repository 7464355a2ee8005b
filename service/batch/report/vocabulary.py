"""What the report counts by: the model's intents and verdicts, and confidence bins."""

from __future__ import annotations

from collections.abc import Iterable

from quickphrase.phrases.compliance import VERDICTS as VERDICTS  # the report counts by these

INTENTS = (
    "greeting",
    "bargaining",
    "stock",
    "size",
    "product_info",
    "shipping_eta",
    "shipping_fee",
    "logistics",
    "address_change",
    "refund",
    "exchange",
    "quality_issue",
    "invoice",
    "payment",
    "review",
    "closing",
    "other",
)
OTHER = "other"
CONFIDENCE_BINS = 20  # bins of 0.05


def intent_order(counts: Iterable[str]) -> list[str]:
    """The model's intents in their usual order, then any unknown ones."""
    extra = sorted(set(counts) - set(INTENTS))
    return [*INTENTS, *extra]
