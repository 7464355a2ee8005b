"""What the ranker learns from agents: how often each phrase is accepted.

The HTTP service records feedback in a store and hands the ranker an
``AcceptanceModel``; without one, every phrase gets the same smoothed prior.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class AcceptanceModel(Protocol):
    def acceptance(self, phrase_id: str, intent: str) -> float:
        """Estimated share of times agents take this phrase for this intent (0-1)."""
        ...


class SmoothedAcceptance:
    """Acceptance rates with a Beta prior, so a phrase shown twice and taken
    twice does not jump straight to 100%.

    Parameters
    ----------
    counts:
        ``(phrase_id, intent) -> (accepted, shown)``; ``accepted`` may be
        fractional (an edited suggestion is half taken).
    prior:
        The rate assumed before any feedback.
    strength:
        How many observations the prior is worth.
    """

    def __init__(
        self,
        counts: Mapping[tuple[str, str], tuple[float, int]] | None = None,
        *,
        prior: float = 0.3,
        strength: float = 10.0,
    ) -> None:
        if not 0 <= prior <= 1 or strength <= 0:
            raise ValueError("prior must be in [0, 1] and strength above 0")
        self.prior = prior
        self.strength = strength
        self._counts = dict(counts or {})

    def acceptance(self, phrase_id: str, intent: str) -> float:
        accepted, shown = self._counts.get((phrase_id, intent), (0, 0))
        return (accepted + self.prior * self.strength) / (shown + self.strength)

    def add(self, phrase_id: str, intent: str, accepted: float, shown: int) -> None:
        """Count more observations of one phrase for one intent."""
        old_accepted, old_shown = self._counts.get((phrase_id, intent), (0.0, 0))
        self._counts[(phrase_id, intent)] = (old_accepted + accepted, old_shown + shown)
