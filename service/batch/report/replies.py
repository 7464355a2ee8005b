"""Agent replies compared with the suggestions the buyer's message got."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from quickphrase.phrases.ranker import bigrams

# The ranker's own near-duplicate threshold: an agent reply this close to a
# suggestion is the suggestion, lightly edited.
REPLY_MATCH_JACCARD = 0.6


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if shared else 0.0


@dataclass(frozen=True)
class ReplyMatches:
    """How agents' replies compare with what the engine suggested."""

    compared: int = 0  # buyer messages with suggestions that an agent answered
    matched: int = 0
    by_position: tuple[int, ...] = ()
    answered_without_suggestion: int = 0  # agent answered a message the engine abstained on


class ReplyTracker:
    """Per conversation, the suggestions for the buyer's last message (bounded LRU).

    Every agent reply until the buyer's next message is compared with those
    suggestions; the buyer message counts once as compared, and once as
    matched at the position of the best-matching suggestion. Replies in a
    conversation with no buyer message yet (or one forgotten) are not compared.
    """

    _UNANSWERED, _ANSWERED, _MATCHED = 0, 1, 2

    def __init__(self, capacity: int, normalized: Callable[[str], str]) -> None:
        if capacity < 1:
            raise ValueError("max_conversations must be at least 1")
        self.capacity = capacity
        self._normalized = normalized
        # Library phrases and canned replies recur: comparisons and signatures are cached.
        self._match = lru_cache(maxsize=65_536)(self._matching_position)
        self._signature = lru_cache(maxsize=65_536)(self._text_signature)
        # conversation -> [suggestion texts, state], least recently written first.
        self._last: OrderedDict[str, list[Any]] = OrderedDict()
        self.compared = 0
        self.answered_without_suggestion = 0
        self.by_position: Counter[int] = Counter()

    def buyer(self, conversation_id: str, suggestions: Sequence[Mapping[str, Any]]) -> None:
        # Texts only: keeping the suggestion dicts would keep whole records alive.
        texts = tuple([s["text"] for s in suggestions]) if suggestions else ()
        last = self._last
        if conversation_id in last:
            last.move_to_end(conversation_id)
        elif len(last) >= self.capacity:
            last.popitem(last=False)
        last[conversation_id] = [texts, self._UNANSWERED]

    def agent(self, conversation_id: str, reply: str) -> None:
        entry = self._last.get(conversation_id)
        if entry is None or entry[1] == self._MATCHED:
            return
        suggestions = entry[0]
        if entry[1] == self._UNANSWERED:
            entry[1] = self._ANSWERED
            if suggestions:
                self.compared += 1
            else:
                self.answered_without_suggestion += 1
        if suggestions:
            position = self._match(reply, suggestions)
            if position:
                entry[1] = self._MATCHED
                self.by_position[position] += 1

    def _text_signature(self, text: str) -> tuple[str, frozenset[str]]:
        key = self._normalized(text)
        return key, bigrams(key)

    def _matching_position(self, reply: str, suggestions: tuple[str, ...]) -> int | None:
        """1-based position of the suggestion the reply is closest to, if close enough."""
        signature = self._signature
        reply_key, reply_bigrams = signature(reply)
        best_similarity, best_position = 0.0, None
        for position, suggestion in enumerate(suggestions, start=1):
            key, suggestion_bigrams = signature(suggestion)
            if key == reply_key:
                return position
            similarity = jaccard(reply_bigrams, suggestion_bigrams)
            if similarity >= REPLY_MATCH_JACCARD and similarity > best_similarity:
                best_similarity, best_position = similarity, position
        return best_position

    def result(self) -> ReplyMatches:
        top = max(self.by_position, default=3)
        return ReplyMatches(
            compared=self.compared,
            matched=sum(self.by_position.values()),
            by_position=tuple(self.by_position[p] for p in range(1, max(top, 3) + 1)),
            answered_without_suggestion=self.answered_without_suggestion,
        )
