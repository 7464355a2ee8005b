"""The unanswered queue: buyer texts without a suggestion, counted and grouped.

``UnansweredCounter`` keeps their counts in bounded memory; ``cluster_texts``
groups the most frequent ones by similarity, so that the report shows which
questions the phrase library is missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from quickphrase.model.normalize import EMOTICON, IMAGE, MEDIA, URL, normalize

# Tuned on 15 groups of paraphrased questions mixed into 0-600 other buyer
# messages (fillers stripped, IDF from the training corpus): at 0.72 no two
# groups merge and 3/4 of same-question pairs join, whatever the number of
# texts; "这个能用在卫生间吗" / "卫生间可以用吗亲" are 0.55 apart while
# "孕妇可以用吗亲" / "卫生间可以用吗亲" are 0.73. From 0.75 groups start to merge.
DISTANCE_THRESHOLD = 0.72
# What every question shares ("请问…吗亲", punctuation, emoticon markers) says
# nothing about what is asked, yet outweighs short topic words like "孕妇".
_FILLER = re.compile(
    rf"\b(?:{EMOTICON}|{IMAGE}|{MEDIA}|{URL})\b|请问|这个|那个|你好|您好|[亲吗呢呀啊哦吧嘛]|[^\w]"
)


class UnansweredCounter:
    """Counts of normalised buyer texts that got no suggestion, bounded in keys.

    Each key keeps ``[count, first original text, model's guess]``. When there
    are more than ``capacity`` keys, texts seen once are dropped (a rare text
    says little about what the library lacks); should that not free a quarter
    of the room, texts seen twice go too, and so on, so pruning stays rare.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("max_unanswered must be at least 1")
        self.capacity = capacity
        self.entries: dict[str, list[Any]] = {}
        self.dropped_messages = 0
        self.dropped_texts = 0

    def add(self, key: str, text: str, guess: str) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            entry[0] += 1
            return
        self.entries[key] = [1, text, guess]
        if len(self.entries) > self.capacity:
            self._prune()

    def _prune(self) -> None:
        self._drop_seen_at_most(1)
        floor = 2
        while len(self.entries) > self.capacity * 3 // 4:
            self._drop_seen_at_most(floor)
            floor += 1

    def _drop_seen_at_most(self, times: int) -> None:
        dropped = [key for key, entry in self.entries.items() if entry[0] <= times]
        for key in dropped:
            self.dropped_messages += self.entries.pop(key)[0]
        self.dropped_texts += len(dropped)

    def most_common(self, n: int) -> list[tuple[str, list[Any]]]:
        ranked = sorted(self.entries.items(), key=lambda item: (-item[1][0], item[0]))
        return ranked[:n]


@dataclass(frozen=True)
class Cluster:
    count: int  # buyer messages
    texts: int  # distinct normalised texts
    examples: tuple[str, ...]
    guess: str


def cluster_texts(
    texts: Sequence[str], distance_threshold: float, reference: Sequence[str] = ()
) -> list[list[int]]:
    """Indexes of ``texts`` (normalised) grouped by character n-gram similarity.

    ``reference`` texts only weigh the n-grams: fitted on a few hundred texts
    alone, IDF swings with the log's size and the same two questions would
    join in one report and not in the next.
    """
    if len(texts) < 2:
        return [[i] for i in range(len(texts))]
    # scikit-learn is heavy to import and only needed here, once per report.
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    cores = [question_core(text) for text in texts]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    try:
        vectors = vectorizer.fit([*cores, *map(question_core, reference)]).transform(cores)
    except ValueError:  # nothing but empty texts: no vocabulary
        return [[i] for i in range(len(texts))]
    # Cosine distances from the sparse vectors: clustering with metric="cosine"
    # would need them dense (texts x n-grams, hundreds of MB for 2,000 texts).
    distances = np.clip(cosine_distances(vectors), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=distance_threshold,
    ).fit_predict(distances)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return list(groups.values())


def question_core(text: str) -> str:
    """A normalised text without its fillers (the text itself if nothing else is left)."""
    return _FILLER.sub("", text) or text


@lru_cache(maxsize=1)
def training_texts() -> tuple[str, ...]:
    """The training corpus's buyer messages, normalised: a stable IDF reference."""
    from quickphrase.training.corpus import TRAIN_DIR, CorpusError, read_jsonl

    texts: list[str] = []
    try:
        for path in sorted(TRAIN_DIR.glob("*.jsonl")):
            texts += (normalize(row["text"]) for _, row in read_jsonl(path) if row.get("text"))
    except (CorpusError, OSError):  # a broken install still gets its report
        return ()
    return tuple(dict.fromkeys(texts))
