"""Scoring the compliance filter against a labelled set of replies."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compliance import CATEGORIES, ComplianceFilter


@dataclass(frozen=True)
class LabelledReply:
    """A reply and what it does (``categories``), whatever the shop type;
    ``expected`` is the verdict its author expected for ``shop_type``."""

    text: str
    shop_type: str
    expected: str  # block | warn | pass
    categories: tuple[str, ...]


@dataclass
class ComplianceReport:
    """Recall per category (a risky reply counts as caught when the filter
    names its category) and how often safe replies are blocked or warned."""

    caught: dict[str, int] = field(default_factory=dict)
    risky: dict[str, int] = field(default_factory=dict)
    safe: int = 0
    safe_blocked: int = 0
    safe_warned: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recall(self) -> dict[str, float]:
        return {c: self.caught.get(c, 0) / n for c, n in sorted(self.risky.items())}

    @property
    def false_block_rate(self) -> float:
        return self.safe_blocked / self.safe if self.safe else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "recall": {c: round(r, 4) for c, r in self.recall.items()},
            "risky": dict(sorted(self.risky.items())),
            "safe": self.safe,
            "false_block_rate": round(self.false_block_rate, 4),
            "safe_warned": self.safe_warned,
            "misses": self.misses,
        }


def read_labelled(path: Path) -> list[LabelledReply]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row: Mapping[str, Any] = json.loads(line)
                rows.append(
                    LabelledReply(
                        row["text"], row["shop_type"], row["expected"], tuple(row["categories"])
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: malformed row ({exc})") from None
    return rows


def score_compliance(
    compliance: ComplianceFilter, rows: Iterable[LabelledReply]
) -> ComplianceReport:
    report = ComplianceReport()
    for row in rows:
        unknown = set(row.categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown category {sorted(unknown)[0]!r} in the labelled set")
        result = compliance.check(row.text, row.shop_type)
        found = {v.category for v in result.violations}
        # What the reply does only counts where the platform forbids it: a
        # Taobao C店 declining an invoice is a safe reply there.
        applies = compliance.categories_for(row.shop_type)
        expected = [c for c in row.categories if c in applies]
        for category in expected:
            report.risky[category] = report.risky.get(category, 0) + 1
            if category in found:
                report.caught[category] = report.caught.get(category, 0) + 1
        if not expected:
            report.safe += 1
            report.safe_blocked += result.verdict == "block"
            report.safe_warned += result.verdict == "warn"
        missed = set(expected) - found
        wrong = row.expected == "pass" and result.verdict != "pass"
        if missed or wrong:
            report.misses.append(
                {
                    "text": row.text,
                    "shop_type": row.shop_type,
                    "expected": sorted(expected),
                    "found": sorted(found),
                }
            )
    return report


@dataclass
class SuggestionReport:
    """How often the suggested phrases answer what the buyer asked.

    A message labelled ``other`` counts as answered when nothing is suggested;
    any other message, when the first suggestion (or one of the first three)
    is for one of its labelled intents.
    """

    messages: int = 0
    top1: int = 0
    top3: int = 0
    abstained: int = 0

    def to_dict(self) -> dict[str, Any]:
        n = max(1, self.messages)
        return {
            "messages": self.messages,
            "top1_intent_rate": round(self.top1 / n, 4),
            "top3_intent_rate": round(self.top3 / n, 4),
            "no_suggestion": self.abstained,
        }


def score_suggestions(
    suggested: Iterable[Sequence[str]], labels: Iterable[Sequence[str]]
) -> SuggestionReport:
    """``suggested``: the intents of each message's suggestions, in rank order;
    ``labels``: each message's labelled intents."""
    report = SuggestionReport()
    for intents, wanted in zip(suggested, labels, strict=True):
        report.messages += 1
        report.abstained += not intents
        if list(wanted) == ["other"]:
            hit1 = hit3 = not intents
        else:
            hit1 = bool(intents) and intents[0] in wanted
            hit3 = any(i in wanted for i in intents[:3])
        report.top1 += hit1
        report.top3 += hit3
    return report
