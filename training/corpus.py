"""The labelled buyer-message corpus: loading, validation, deduplication.

Files are JSON lines. Single-intent rows are ``{"text": ..., "intent": ...}``;
multi-intent dev rows are ``{"text": ..., "intents": [...]}``. Rows are
deduplicated on their normalised text, so traditional/simplified, full/half
width and emoticon variants of one sentence count once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from quickphrase.model.normalize import EMOTICON, normalize

DATA_DIR = Path(str(resources.files(__package__) / "data"))
TRAIN_DIR = DATA_DIR / "train"
DEV_FILE = DATA_DIR / "dev" / "dev.jsonl"
MULTI_FILE = DATA_DIR / "dev" / "multi.jsonl"


_NOT_CONTENT = re.compile(rf"\b{EMOTICON}\b|[^\w]")


def dedup_key(text: str) -> str:
    """What makes two messages the same: normalised text without punctuation,
    spaces or emoticons ("包邮吗？[微笑]" and "包郵嗎" are one message).

    A message with nothing else (only emoticons or punctuation) keys on its
    normalised form, so "[大哭][大哭]" and "。。。" stay distinct messages.
    """
    norm = normalize(text)
    return _NOT_CONTENT.sub("", norm) or norm


class CorpusError(ValueError):
    """A corpus file is malformed; the message names file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str  # "file:line", for error messages and misclassification reports

    @property
    def key(self) -> str:
        return dedup_key(self.text)


@dataclass(frozen=True)
class MultiExample:
    text: str
    intents: tuple[str, ...]
    source: str


def read_jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from None
    if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark, as Windows tools write
        raw = raw[3:]
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise CorpusError(f"{path}:{number}: not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise CorpusError(f"{path}:{number}: expected a JSON object")
        yield number, row


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Single-intent examples from JSONL files, validated, in file order."""
    examples = []
    for path in paths:
        for number, row in read_jsonl(path):
            text, intent = row.get("text"), row.get("intent")
            if not isinstance(text, str) or not text.strip():
                raise CorpusError(f"{path}:{number}: 'text' must be a non-empty string")
            if not isinstance(intent, str) or not intent.strip():
                raise CorpusError(f"{path}:{number}: 'intent' must be a non-empty string")
            examples.append(
                Example(text=text, intent=intent.strip(), source=f"{path.name}:{number}")
            )
    return examples


def load_multi(path: Path = MULTI_FILE) -> list[MultiExample]:
    rows = []
    for number, row in read_jsonl(path):
        text, intents = row.get("text"), row.get("intents")
        if not isinstance(text, str) or not isinstance(intents, list) or not intents:
            raise CorpusError(f"{path}:{number}: expected 'text' and a non-empty 'intents' list")
        rows.append(MultiExample(text=text, intents=tuple(intents), source=f"{path.name}:{number}"))
    return rows


def deduplicate(examples: Sequence[Example], *, exclude: Iterable[str] = ()) -> list[Example]:
    """First occurrence of each normalised text; drop keys in ``exclude``.

    A text labelled with two different intents is a corpus error.
    """
    seen: dict[str, Example] = {}
    excluded = set(exclude)
    for ex in examples:
        key = ex.key
        if key in excluded:
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = ex
        elif first.intent != ex.intent:
            raise CorpusError(
                f"{ex.source}: same text as {first.source} but labelled "
                f"{ex.intent!r} instead of {first.intent!r}"
            )
    return list(seen.values())


@dataclass(frozen=True)
class Corpus:
    """Training and dev data, deduplicated, with dev texts removed from training."""

    train: list[Example]
    dev: list[Example]
    multi: list[MultiExample]

    @classmethod
    def load(
        cls,
        train_paths: Sequence[Path] | None = None,
        dev_path: Path = DEV_FILE,
        multi_path: Path = MULTI_FILE,
        extra: Sequence[Path] = (),
    ) -> Corpus:
        paths = list(train_paths) if train_paths is not None else sorted(TRAIN_DIR.glob("*.jsonl"))
        dev = deduplicate(load_examples([dev_path]))
        multi = load_multi(multi_path)
        held_out = {ex.key for ex in dev} | {dedup_key(m.text) for m in multi}
        train = deduplicate(load_examples([*paths, *extra]), exclude=held_out)
        return cls(train=train, dev=dev, multi=multi)

    @property
    def labels(self) -> list[str]:
        return sorted({ex.intent for ex in self.train})

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per intent: (train, dev) example counts."""
        train = Counter(ex.intent for ex in self.train)
        dev = Counter(ex.intent for ex in self.dev)
        return {label: (train[label], dev[label]) for label in sorted(train | dev)}

    def fingerprint(self) -> str:
        """SHA-256 over the training rows: identifies what a model was trained on."""
        digest = hashlib.sha256()
        for ex in self.train:
            digest.update(f"{ex.intent}\t{ex.text}\n".encode())
        return digest.hexdigest()
