"""``quickphrase phrases lint``: every problem in a phrase library, with its line.

Beyond the schema (``library.read_library``): each phrase, filled with the
shop profile's defaults, must pass the compliance filter for every shop type
it declares (a block is an error, a warning stays a warning), and each intent
should have enough phrases for a full list of suggestions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .compliance import ComplianceFilter
from .library import Issue, read_library, resolve_library_dir

MIN_PER_INTENT = 3  # the ranker suggests three by default


def lint_library(
    directory: str | Path | None,
    *,
    intents: Iterable[str],
    compliance: ComplianceFilter,
) -> list[Issue]:
    """All errors and warnings for the library in ``directory``."""
    intents = list(intents)
    library, issues = read_library(directory, intents=intents)
    defaults = library.defaults()
    for phrase in library.phrases:
        # Checked as the buyer would see it; request-only variables stay as {name}.
        text = phrase.fill(defaults) or phrase.text
        for shop in phrase.shop_types:
            result = compliance.check(text, shop)
            for v in result.violations:
                severity = "error" if v.severity == "block" else "warning"
                message = (
                    f"phrase {phrase.id!r} ({shop}): {v.category} "
                    f"at {text[v.start : v.end]!r}: {v.message}"
                )
                issues.append(Issue(phrase.path or Path("?"), phrase.line, message, severity))
    counts = Counter(
        (shop, intent) for p in library.phrases for shop in p.shop_types for intent in p.intents
    )
    root = resolve_library_dir(directory)
    for intent in intents:
        if intent == "other":
            continue
        for shop in ("taobao", "tmall"):
            n = counts[(shop, intent)]
            if n < MIN_PER_INTENT:
                issues.append(
                    Issue(
                        root,
                        None,
                        f"intent {intent!r} has {n} phrase(s) for {shop} shops; "
                        f"at least {MIN_PER_INTENT} give agents a full list",
                        "warning",
                    )
                )
    return issues
