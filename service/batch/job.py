"""A batch job's settings, shared by the local and Spark engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from quickphrase.engine import Engine
from quickphrase.phrases.ranker import DEFAULT_K

from .blocks import BLOCK_BYTES
from .rows import Columns
from .scoring import Scorer

CHUNK_ROWS = 2000
# A local path, or a URI (hdfs://, s3a://...) that only the Spark engine reads;
# URIs stay strings because Path would fold their "//".
Location = Path | str


def location(value: str) -> Location:
    return value if "://" in value else Path(value)


@dataclass(frozen=True)
class BatchSummary:
    """What a run did: the one-line summary and the report's header."""

    source: str
    lines_read: int
    scored: int
    rejected: int
    seconds: float
    engine: str = "local"


@dataclass(frozen=True)
class EngineSpec:
    """How to build the engine in each worker process (engines do not pickle)."""

    model_dir: Path | None = None
    phrases_dir: Path | None = None
    rules: tuple[Path, ...] = ()
    disable_rules: tuple[str, ...] = ()
    risk_model_dir: Path | None = None

    def build(self) -> Engine:
        return Engine(
            self.model_dir,
            self.phrases_dir,
            rules=self.rules,
            disable_rules=self.disable_rules,
            risk_model_dir=self.risk_model_dir,
        )


@dataclass(frozen=True)
class ScorerSpec:
    engine: EngineSpec = field(default_factory=EngineSpec)
    shop_type: str = "taobao"
    k: int = DEFAULT_K
    cache_size: int = 100_000

    def build(self, engine: Engine | None = None) -> Scorer:
        return Scorer(
            engine or self.engine.build(),
            shop_type=self.shop_type,
            k=self.k,
            cache_size=self.cache_size,
        )


@dataclass(frozen=True)
class BatchJob:
    """Everything ``quickphrase batch`` was asked to do."""

    input: Location
    output: Location
    rejects: Location
    report: Path | None = None
    input_format: str | None = None
    encoding: str | None = None
    columns: Columns = field(default_factory=Columns)
    required: frozenset[str] = frozenset()
    scorer: ScorerSpec = field(default_factory=ScorerSpec)
    workers: int = 1
    chunk_rows: int = CHUNK_ROWS  # rows per chunk when scoring in one process
    block_bytes: int = BLOCK_BYTES  # bytes per block for worker processes


def default_rejects(output: Location) -> Location:
    """``out.jsonl`` -> ``out.rejects.jsonl``, beside the output."""
    text = str(output)
    stem, dot, suffix = text.rpartition(".")
    name = f"{stem}.rejects.jsonl" if dot and "/" not in suffix else f"{text}.rejects.jsonl"
    return location(name)
