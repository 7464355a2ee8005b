"""``ReportBuilder``: counters and capped samples of the scored records, streamed in."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from quickphrase.model.normalize import normalize

from ..job import BatchSummary
from .clusters import (
    DISTANCE_THRESHOLD,
    Cluster,
    UnansweredCounter,
    cluster_texts,
    training_texts,
)
from .page import render_report, write_atomically
from .replies import ReplyTracker
from .timestamps import UNKNOWN_HOUR, hour_of
from .vocabulary import CONFIDENCE_BINS, OTHER

UNKNOWN_AGENT = "(no agent id)"
OTHER_AGENTS = "(other agents)"


def model_guess(record: Mapping[str, Any]) -> str:
    """The intent the model leaned to: the record's, or its best-scored non-`other` one."""
    intent = record.get("intent") or OTHER
    if intent != OTHER:
        return intent
    scored = [s for s in record.get("intents") or () if s.get("intent") not in (None, OTHER)]
    if not scored:
        return OTHER
    return str(max(scored, key=lambda s: s.get("score") or 0.0)["intent"])


class AgentStats:
    __slots__ = ("blocked", "categories", "replies", "warned")

    def __init__(self) -> None:
        self.replies = 0
        self.blocked = 0
        self.warned = 0
        self.categories: Counter[str] = Counter()


class ReportBuilder:
    """Collects counters from scored records, then writes the HTML report.

    Parameters
    ----------
    max_unanswered:
        Most distinct unanswered texts kept in memory (see ``UnansweredCounter``).
    cluster_top:
        How many of the most frequent unanswered texts are clustered.
    examples:
        Example texts shown per cluster and per compliance category.
    feedback:
        The sidecar store's ``FeedbackStore.stats()``, for an acceptance section.
    max_conversations:
        Conversations remembered for comparing agent replies with suggestions.
    max_agents:
        Agents counted one by one; the rest are pooled as "(other agents)".
    distance_threshold:
        Cosine distance under which unanswered questions join one cluster.
    clusters_shown, agents_shown:
        Rows in the report's cluster and agent tables.
    epoch_offset_seconds:
        Clock that epoch timestamps are read in (UTC+8 by default).
    idf_reference:
        Normalised texts that weigh n-grams for clustering; None: the training corpus.
    category_advice:
        What to tell agents per compliance category; None: the bundled rules' messages.
    """

    def __init__(
        self,
        *,
        max_unanswered: int = 50_000,
        cluster_top: int = 2_000,
        examples: int = 5,
        feedback: dict[str, Any] | None = None,
        max_conversations: int = 100_000,
        max_agents: int = 10_000,
        distance_threshold: float = DISTANCE_THRESHOLD,
        clusters_shown: int = 100,
        agents_shown: int = 50,
        epoch_offset_seconds: int = 8 * 3600,
        idf_reference: Sequence[str] | None = None,
        category_advice: Mapping[str, str] | None = None,
    ) -> None:
        self.cluster_top = cluster_top
        self.examples = examples
        self.feedback = feedback
        self.max_agents = max_agents
        self.distance_threshold = distance_threshold
        self.clusters_shown = clusters_shown
        self.agents_shown = agents_shown
        self.epoch_offset_seconds = epoch_offset_seconds
        self.idf_reference = idf_reference
        self.category_advice = category_advice
        # Customer-service logs repeat themselves ("在吗", canned replies):
        # caching the normaliser makes those repeats nearly free.
        self._normalized = lru_cache(maxsize=65_536)(normalize)
        self.unanswered = UnansweredCounter(max_unanswered)
        self.replies = ReplyTracker(max_conversations, self._normalized)
        # defaultdict(int), not Counter: add() runs millions of times and
        # Counter's item access is over twice as slow.
        self.shop_types: defaultdict[str, int] = defaultdict(int)
        # buyer lines (intent counts are the sums over hours)
        self.covered: defaultdict[str, int] = defaultdict(int)  # with >= 1 suggestion
        self.by_hour = [defaultdict[str, int](int) for _ in range(UNKNOWN_HOUR + 1)]
        self.confidence_bins = [0] * CONFIDENCE_BINS
        # agent lines (their count is the sum over verdicts)
        self.verdicts: defaultdict[str, int] = defaultdict(int)
        self.category_replies: Counter[str] = Counter()  # replies flagged, by category
        self.category_blocks: Counter[str] = Counter()  # of which with a blocking violation
        self.category_examples: dict[str, list[str]] = {}
        self.agents: dict[str, AgentStats] = {}

    # --- add -----------------------------------------------------------------

    def add(self, record: Mapping[str, Any]) -> None:
        """Count one scored record (called once per line, in input order)."""
        self.shop_types[record["shop_type"]] += 1
        if record["role"] == "buyer":
            self._add_buyer(record)
        else:
            self._add_agent(record)

    def _add_buyer(self, record: Mapping[str, Any]) -> None:
        intent = record["intent"] or OTHER
        hour = hour_of(record["timestamp"], self.epoch_offset_seconds)
        self.by_hour[UNKNOWN_HOUR if hour is None else hour][intent] += 1
        confidence = record["confidence"]
        if confidence is not None and confidence == confidence:  # not NaN
            bin_ = int(confidence * CONFIDENCE_BINS)
            if bin_ >= CONFIDENCE_BINS:  # a confidence of 1.0 is in the last bin
                bin_ = CONFIDENCE_BINS - 1
            elif bin_ < 0:
                bin_ = 0
            self.confidence_bins[bin_] += 1
        suggestions = record["suggestions"] or ()
        if suggestions:
            self.covered[intent] += 1
        else:
            text = record["text"]
            self.unanswered.add(self._normalized(text), text, model_guess(record))
        conversation_id = record["conversation_id"]
        if conversation_id is not None:
            self.replies.buyer(conversation_id, suggestions)

    def _add_agent(self, record: Mapping[str, Any]) -> None:
        verdict = record["verdict"] or "pass"
        self.verdicts[verdict] += 1
        agent = self._agent_stats(record["agent_id"])
        agent.replies += 1
        if verdict == "block":
            agent.blocked += 1
        elif verdict == "warn":
            agent.warned += 1
        violations = record["violations"]
        if violations:
            self._add_violations(agent, violations, record["redacted"])
        conversation_id = record["conversation_id"]
        if conversation_id is not None:
            self.replies.agent(conversation_id, record["text"])

    def _agent_stats(self, agent_id: str | None) -> AgentStats:
        key = agent_id or UNKNOWN_AGENT
        stats = self.agents.get(key)
        if stats is None:
            if len(self.agents) >= self.max_agents:
                key = OTHER_AGENTS
                stats = self.agents.get(key)
            if stats is None:
                stats = self.agents[key] = AgentStats()
        return stats

    def _add_violations(
        self, agent: AgentStats, violations: Iterable[Mapping[str, Any]], redacted: str | None
    ) -> None:
        # dict, not set: insertion order keeps ties in the report stable run to run.
        categories = dict.fromkeys(v["category"] for v in violations)
        blocking = {v["category"] for v in violations if v["severity"] == "block"}
        for category in categories:
            agent.categories[category] += 1
            self.category_replies[category] += 1
            if category in blocking:
                self.category_blocks[category] += 1
            examples = self.category_examples.setdefault(category, [])
            # Only the redacted text is ever kept: the raw reply may hold a phone number.
            if redacted and len(examples) < self.examples and redacted not in examples:
                examples.append(redacted)

    # --- totals, derived at write time so that add() counts each thing once ---

    @property
    def intents(self) -> Counter[str]:
        """Buyer messages by intent."""
        total: Counter[str] = Counter()
        for counter in self.by_hour:
            total.update(counter)
        return total

    @property
    def buyer_lines(self) -> int:
        return sum(sum(counter.values()) for counter in self.by_hour)

    @property
    def agent_lines(self) -> int:
        return sum(self.verdicts.values())

    @property
    def records(self) -> int:
        return self.buyer_lines + self.agent_lines

    # --- write ---------------------------------------------------------------

    def clusters(self) -> list[Cluster]:
        """The unanswered queue's most frequent texts, grouped by similarity."""
        top = self.unanswered.most_common(self.cluster_top)
        reference = training_texts() if self.idf_reference is None else self.idf_reference
        groups = cluster_texts([key for key, _ in top], self.distance_threshold, reference)
        clusters = [self._cluster(top, members) for members in groups]
        return sorted(clusters, key=lambda c: (-c.count, c.examples[0] if c.examples else ""))

    def _cluster(self, top: list[tuple[str, list[Any]]], members: list[int]) -> Cluster:
        entries = sorted((top[i][1] for i in members), key=lambda e: -e[0])
        guesses: Counter[str] = Counter()
        for count, _, guess in entries:
            guesses[guess] += count
        return Cluster(
            count=sum(e[0] for e in entries),
            texts=len(entries),
            examples=tuple(e[1] for e in entries[: self.examples]),
            guess=guesses.most_common(1)[0][0],
        )

    def write(self, path: Path, summary: BatchSummary) -> None:
        """Render the report and write it atomically to ``path``."""
        document = render_report(self, summary)
        write_atomically(Path(path), document)
