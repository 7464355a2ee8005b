"""Synthetic chat logs built from held-out sentences, for benchmarks and tests.

Buyer lines are dev-set messages (never trained on); agent lines are the
labelled replies of the risk model's dev set, risky and clean. Conversations
get ids, agents and times of day so that every part of a batch report has
something to show. The sentences are real data; only their arrangement is
generated.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .corpus import DATA_DIR
from .risk import DEV_FILE as RISK_DEV_FILE

HEADER = ("conversation_id", "timestamp", "role", "agent_id", "text")
# Buyers write more in the evening; a rough shape of a shop's day (weights per hour).
_HOURLY = (2, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 7, 8, 8, 7, 7, 8, 9, 10, 10, 8, 4)


def _texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


@dataclass(frozen=True)
class ChatLog:
    """Sentences to draw from; ``lines`` yields CSV rows in conversation order."""

    buyer: list[str]
    agent: list[str]

    @classmethod
    def from_dev_sets(cls) -> ChatLog:
        buyer = _texts(DATA_DIR / "dev" / "dev.jsonl") + _texts(DATA_DIR / "dev" / "multi.jsonl")
        agent = _texts(RISK_DEV_FILE)
        return cls(buyer, agent)

    def lines(
        self, count: int, *, seed: int = 0, agents: bool = True, date: str = "2026-11-22"
    ) -> Iterator[tuple[str, str, str, str, str]]:
        """``count`` rows of (conversation_id, timestamp, role, agent_id, text)."""
        rng = random.Random(seed)
        made = 0
        conversation = 0
        while made < count:
            conversation += 1
            hour = rng.choices(range(24), weights=_HOURLY)[0]
            minute = rng.randrange(60)
            agent_id = f"agent{rng.randrange(1, 9):02d}"
            for turn in range(rng.randint(1, 4)):
                for role, pool in (("buyer", self.buyer), ("agent", self.agent)):
                    if made == count or (role == "agent" and not agents):
                        continue
                    second = min(59, turn * 12 + (6 if role == "agent" else 0))
                    stamp = f"{date} {hour:02d}:{minute:02d}:{second:02d}"
                    who = agent_id if role == "agent" else ""
                    yield f"c{conversation:07d}", stamp, role, who, rng.choice(pool)
                    made += 1

    def write_csv(self, path: Path, count: int, **options: object) -> Path:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(self.lines(count, **options))  # type: ignore[arg-type]
        return path
