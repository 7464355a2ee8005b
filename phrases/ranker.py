"""Ranking quick phrases for a classified buyer message.

Candidates are the phrases of the intents the classifier found (plus a
runner-up intent when the model hesitates). Each gets

    score = p(intent) × (0.55 + 0.30·similarity + 0.15·acceptance) × weight × stage

where similarity is the character-bigram cosine between the message and the
phrase's example questions (or its text), acceptance is the smoothed share of
times agents took the phrase, weight is the phrase's prior and stage 0.85 for
a phrase of another stage than the one given. Then the list is made diverse:
one phrase per intent first for a message with several questions, never two
near-duplicates, and the last slot for the runner-up intent if there is one.
Phrases whose variables cannot be filled, that do not fit the order status,
or that the compliance filter blocks for the shop type are never returned.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..model.classifier import OTHER, Prediction
from ..model.normalize import normalize
from .compliance import ComplianceFilter
from .feedback import AcceptanceModel, SmoothedAcceptance
from .library import ORDER_STATUSES, SHOP_TYPES, STAGES, Phrase, PhraseLibrary

DEFAULT_K = 3
MAX_K = 10
# A runner-up whole-message intent this likely gets the last slot.
RUNNER_UP_MIN = 0.2
# Phrases sharing this much of their character bigrams are near-duplicates.
NEAR_DUPLICATE = 0.6
OTHER_STAGE = 0.85
_NOT_TEXT = re.compile(r"\W+")


@dataclass(frozen=True)
class Context:
    """Where the message is answered; validated on construction."""

    shop_type: str = "taobao"
    stage: str | None = None
    order_status: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shop_type not in SHOP_TYPES:
            raise ValueError(f"unknown shop type {self.shop_type!r}; use {' or '.join(SHOP_TYPES)}")
        if self.stage is not None and self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; use {', '.join(STAGES)}")
        if self.order_status is not None and self.order_status not in ORDER_STATUSES:
            raise ValueError(
                f"unknown order status {self.order_status!r}; use {', '.join(ORDER_STATUSES)}"
            )


@dataclass(frozen=True)
class Suggestion:
    phrase_id: str
    text: str
    intent: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "phrase_id": self.phrase_id,
            "text": self.text,
            "intent": self.intent,
            "score": round(self.score, 4),
        }


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the letters and digits of ``text`` (normalised)."""
    chars = _NOT_TEXT.sub("", text)
    if len(chars) < 2:
        return frozenset(chars)
    return frozenset(map("".join, itertools.pairwise(chars)))


def _fits(phrase: Phrase, context: Context) -> bool:
    """A phrase limited to some order states is only for those states."""
    return not (
        phrase.order_status
        and context.order_status is not None
        and context.order_status not in phrase.order_status
    )


def cosine(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


@dataclass(frozen=True)
class _Candidate:
    """A phrase prepared for one shop type: its default text and its checks."""

    phrase: Phrase
    default_text: str | None  # None: needs a value only a request can give
    text_bigrams: frozenset[str]


class _SimilarityIndex:
    """Character-bigram cosine between a message and every phrase, via an
    inverted index so only phrases sharing a bigram with the message are touched.

    A phrase's similarity is the best over its example questions, or half the
    similarity to its own text (replies share fewer words with questions).
    """

    def __init__(self, phrases: Sequence[Phrase]) -> None:
        self._postings: dict[str, list[tuple[int, float]]] = {}
        self._owner: list[str] = []
        for phrase in phrases:
            sources = [(bigrams(normalize(e)), 1.0) for e in phrase.examples]
            sources.append((bigrams(normalize(phrase.text)), 0.5))
            for grams, factor in sources:
                if not grams:
                    continue
                slot = len(self._owner)
                self._owner.append(phrase.id)
                weight = factor / math.sqrt(len(grams))
                for gram in grams:
                    self._postings.setdefault(gram, []).append((slot, weight))

    def scores(self, message: frozenset[str]) -> dict[str, float]:
        if not message:
            return {}
        per_slot: dict[int, float] = {}
        for gram in message:
            for slot, weight in self._postings.get(gram, ()):
                per_slot[slot] = per_slot.get(slot, 0.0) + weight
        norm = 1.0 / math.sqrt(len(message))
        best: dict[str, float] = {}
        owner = self._owner
        for slot, total in per_slot.items():
            phrase_id = owner[slot]
            value = total * norm
            if value > best.get(phrase_id, 0.0):
                best[phrase_id] = value
        return best


class Ranker:
    """Picks up to k distinct, fillable, compliant phrases for a prediction.

    Parameters
    ----------
    library:
        The phrase library (phrases and shop-profile variables).
    compliance:
        The filter every suggested text must pass for the shop type.
    acceptance:
        Learned acceptance rates; a smoothed prior for all phrases by default.
    """

    def __init__(
        self,
        library: PhraseLibrary,
        compliance: ComplianceFilter,
        *,
        acceptance: AcceptanceModel | None = None,
    ) -> None:
        self.library = library
        self.compliance = compliance
        self.acceptance = acceptance or SmoothedAcceptance()
        self._defaults = library.defaults()
        self._similarity = _SimilarityIndex(library.phrases)
        self._text_bigrams = {p.id: bigrams(normalize(p.text)) for p in library.phrases}
        self._by_intent: dict[tuple[str, str], list[_Candidate]] = {}
        for shop in SHOP_TYPES:
            for phrase in library.phrases:
                if shop not in phrase.shop_types:
                    continue
                candidate = self._prepare(phrase, shop)
                if candidate is None:
                    continue
                for intent in phrase.intents:
                    self._by_intent.setdefault((shop, intent), []).append(candidate)
        self._allowed = lru_cache(maxsize=4096)(self._allowed_uncached)

    def _prepare(self, phrase: Phrase, shop: str) -> _Candidate | None:
        text = phrase.fill(self._defaults)
        if text is not None and self.compliance.check(text, shop).blocked:
            return None  # lint reports it; never suggest it
        return _Candidate(phrase, text, self._text_bigrams[phrase.id])

    def rank(
        self, prediction: Prediction, context: Context | None = None, k: int = DEFAULT_K
    ) -> list[Suggestion]:
        """The best k suggestions for ``prediction``; [] when the model abstains."""
        context = context or Context()
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be between 1 and {MAX_K}, not {k}")
        if prediction.intent == OTHER:
            return []
        values = self.library.values(context.variables) if context.variables else None
        similarity = self._similarity.scores(bigrams(prediction.words))
        acceptance = self.acceptance.acceptance
        per_intent: list[list[_Scored]] = []
        seen: set[str] = set()
        for intent, p in self._intents(prediction):
            scored: list[_Scored] = []
            for candidate in self._by_intent.get((context.shop_type, intent), ()):
                phrase = candidate.phrase
                if phrase.id in seen or not _fits(phrase, context):
                    continue
                text = self._text(candidate, values, context.shop_type)
                if text is None:
                    continue
                quality = (
                    0.55
                    + 0.30 * similarity.get(phrase.id, 0.0)
                    + 0.15 * acceptance(phrase.id, intent)
                )
                if context.stage and phrase.stage != context.stage:
                    quality *= OTHER_STAGE
                scored.append((p * quality * phrase.weight, intent, text, candidate))
                seen.add(phrase.id)
            scored.sort(key=_by_score)
            per_intent.append(scored)
        chosen = _diverse(per_intent, len(prediction.intents), k)
        return [Suggestion(c.phrase.id, text, intent, score) for score, intent, text, c in chosen]

    def _intents(self, prediction: Prediction) -> list[tuple[str, float]]:
        found = [(s.intent, s.score) for s in prediction.intents]
        asked = {intent for intent, _ in found}
        runner_up = next(
            (s for s in prediction.ranked if s.intent not in asked and s.intent != OTHER), None
        )
        if runner_up is not None and runner_up.score >= RUNNER_UP_MIN:
            found.append((runner_up.intent, runner_up.score))
        return found

    def _text(
        self, candidate: _Candidate, values: Mapping[str, str] | None, shop: str
    ) -> str | None:
        if values is None:
            return candidate.default_text
        text = candidate.phrase.fill(values)
        if text is None or text == candidate.default_text:
            return text
        return text if self._allowed(text, shop) else None

    def _allowed_uncached(self, text: str, shop: str) -> bool:
        return not self.compliance.check(text, shop).blocked


_Scored = tuple[float, str, str, _Candidate]  # score, intent, filled text, candidate


def _by_score(item: _Scored) -> float:
    return -item[0]


def _diverse(per_intent: Sequence[list[_Scored]], asked: int, k: int) -> list[_Scored]:
    """Up to k suggestions: one per asked intent first (several questions), no
    near-duplicates, and the last slot kept for the runner-up intent if any."""
    chosen: list[_Scored] = []

    def take(item: _Scored) -> bool:
        grams = item[3].text_bigrams
        if any(cosine(grams, c[3].text_bigrams) >= NEAR_DUPLICATE for c in chosen):
            return False
        chosen.append(item)
        return True

    main, runner_up = per_intent[:asked], per_intent[asked:]
    if asked > 1:
        for options in main:
            for item in options:
                if len(chosen) < k and take(item):
                    break
    reserve = 1 if k > 1 and any(runner_up) else 0
    if len(main) == 1:
        rest = main[0]
    else:
        rest = sorted((item for options in main for item in options), key=_by_score)
    for item in rest:
        if len(chosen) >= k - reserve:
            break
        if all(item is not c for c in chosen):
            take(item)
    for options in runner_up:
        for item in options:
            if len(chosen) < k and take(item):
                break
    return chosen
