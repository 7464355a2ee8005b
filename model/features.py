"""Sparse TF-IDF features for the ONNX intent graph, vectorised with numpy.

scikit-learn's ``TfidfVectorizer`` blocks are fitted at training time; at
serving time we need their n-gram vocabularies and idf weights. A message
becomes the ids of its own n-grams with their L2-normalised TF-IDF weights,
and the ONNX graph gathers and sums the matching rows of the linear model.

Why not skl2onnx's ``TfidfVectorizer`` converter: its ONNX operator emits a
dense vocabulary-sized vector per message, about 0.6 ms per message at 30k
n-grams on a small machine, where this sparse path costs a few microseconds.

How n-grams are found without a Python loop per n-gram: every n-gram becomes
an integer key. Characters are code points (21 bits each, so up to three fit
in an int64 exactly); words are indices into the vocabulary's token list.
Keys are looked up with ``np.searchsorted`` in sorted tables built at load
time. A batch of messages is processed in one pass; n-grams that would cross
from one message into the next are masked out.

The result equals scikit-learn's ``transform`` for the configuration training
uses (words joined by single spaces, both blocks over that string);
``tests/test_features.py`` holds them to it.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SMALL_BATCH = 16
_CHAR_BITS = 21  # enough for any Unicode code point
_MAX_CHAR_N = 63 // _CHAR_BITS


@dataclass(frozen=True)
class _Table:
    """Sorted n-gram keys of one length and the model column of each."""

    keys: np.ndarray
    columns: np.ndarray

    @classmethod
    def build(cls, pairs: list[tuple[int, int]]) -> _Table:
        pairs.sort()
        keys = np.array([k for k, _ in pairs], dtype=np.int64)
        columns = np.array([c for _, c in pairs], dtype=np.int64)
        return cls(keys, columns)

    def lookup(self, keys: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``keys`` that are in the table, their columns)."""
        if not len(self.keys) or not len(keys):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pos = np.searchsorted(self.keys, keys)
        pos[pos == len(self.keys)] = 0
        found = valid & (self.keys[pos] == keys)
        return np.flatnonzero(found), self.columns[pos[found]]


def _ngram_keys(units: np.ndarray, n: int, shift: int | None, base: int) -> np.ndarray:
    """Integer key of the n-gram starting at each position (positions that fit)."""
    m = len(units) - n + 1
    key = units[:m].copy()
    for k in range(1, n):
        key = (key << shift) | units[k : k + m] if shift else key * base + units[k : k + m]
    return key


class _Block:
    analyzer: str
    ngram_range: tuple[int, int]
    offset: int
    size: int
    columns: dict[str, int]  # n-gram -> model column, for the small-batch path
    strip_spaces: bool = False  # character blocks may read the words without spaces

    def text(self, words: str) -> str:
        return words.replace(" ", "") if self.strip_spaces else words

    def ngrams(self, words: str) -> list[str]:
        """The n-grams scikit-learn's analyzer yields for ``words``, in some order."""
        lo, hi = self.ngram_range
        units: Sequence[str] = (
            self.text(words) if self.analyzer == "char" else (words.split(" ") if words else [])
        )
        join = "".join if self.analyzer == "char" else " ".join
        grams: list[str] = list(units) if lo == 1 else []
        # zip over shifted sequences keeps the loop in C.
        for n in range(max(lo, 2), hi + 1):
            grams += map(join, zip(*(units[k:] for k in range(n)), strict=False))
        return grams

    def ngrams_across(self, clauses: Sequence[str]) -> list[str] | None:
        """N-grams of the joined clauses that span a join between two clauses.

        ``None`` when a clause is too short for each such n-gram to span
        exactly one join; the caller then counts the joined string itself.
        """
        lo, hi = self.ngram_range
        if self.analyzer == "char":
            pieces: list[Sequence[str]] = [self.text(c) for c in clauses]
            separator, join = ([] if self.strip_spaces else [" "]), "".join
        else:
            # The space between words is a separator, not a word.
            pieces, separator, join = [c.split(" ") for c in clauses], [], " ".join
        if any(len(p) < hi - 1 for p in pieces):
            return None
        grams: list[str] = []
        for left, right in itertools.pairwise(pieces):
            head = list(left[len(left) - hi + 1 :]) if hi > 1 else []
            window = [*head, *separator, *right[: hi - 1]]
            at = len(head)  # first unit after the join (the space, if kept)
            for n in range(max(lo, 1 if separator else 2), hi + 1):
                # Windows that hold the unit just before the join and the one
                # at it: they exist only in the joined string.
                first = max(0, at - n + 1)
                last = min(at if separator else at - 1, len(window) - n)
                grams += [join(window[i : i + n]) for i in range(first, last + 1)]
        return grams

    def hits(self, rows: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _find(
        self,
        units: np.ndarray,
        row_of: np.ndarray,
        *,
        shift: int | None,
        base: int,
        known: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.ngram_range
        rows_out, cols_out = [], []
        for n in range(lo, hi + 1):
            if len(units) < n:
                break
            m = len(units) - n + 1
            valid = row_of[:m] == row_of[n - 1 :]
            if known is not None:
                for k in range(n):
                    valid &= known[k : k + m]
            keys = _ngram_keys(units, n, shift, base)
            where, cols = self.tables[n].lookup(keys, valid)
            rows_out.append(row_of[where])
            cols_out.append(cols)
        if not rows_out:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(rows_out), np.concatenate(cols_out)


class CharBlock(_Block):
    """Character n-grams over the word string, with or without its spaces."""

    analyzer = "char"

    def __init__(
        self,
        ngram_range: tuple[int, int],
        vocabulary: Sequence[str],
        offset: int,
        *,
        strip_spaces: bool = False,
    ) -> None:
        self.strip_spaces = strip_spaces
        if ngram_range[1] > _MAX_CHAR_N:
            raise ValueError(f"character n-grams longer than {_MAX_CHAR_N} are not supported")
        self.ngram_range = ngram_range
        self.offset = offset
        self.size = len(vocabulary)
        self.columns = {gram: i + offset for i, gram in enumerate(vocabulary)}
        by_length: dict[int, list[tuple[int, int]]] = {
            n: [] for n in range(ngram_range[0], ngram_range[1] + 1)
        }
        for column, gram in enumerate(vocabulary):
            key = 0
            for ch in gram:
                key = (key << _CHAR_BITS) | ord(ch)
            by_length[len(gram)].append((key, column + offset))
        self.tables = {n: _Table.build(pairs) for n, pairs in by_length.items()}

    def hits(self, rows: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.text(r) for r in rows] if self.strip_spaces else rows
        # surrogatepass: a lone surrogate from a client is still a character.
        units = np.frombuffer(
            "".join(rows).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        ).astype(np.int64)
        row_of = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        return self._find(units, row_of, shift=_CHAR_BITS, base=0, known=None)


class WordBlock(_Block):
    """Word n-grams over tokens separated by single spaces."""

    analyzer = "word"

    def __init__(
        self, ngram_range: tuple[int, int], vocabulary: Sequence[str], offset: int
    ) -> None:
        self.ngram_range = ngram_range
        self.offset = offset
        self.size = len(vocabulary)
        self.columns = {gram: i + offset for i, gram in enumerate(vocabulary)}
        split = [gram.split(" ") for gram in vocabulary]
        self.tokens: dict[str, int] = {}
        for parts in split:
            for token in parts:
                self.tokens.setdefault(token, len(self.tokens))
        self.base = max(1, len(self.tokens))
        if self.base ** ngram_range[1] >= 2**63:
            raise ValueError("word vocabulary too large for int64 n-gram keys")
        by_length: dict[int, list[tuple[int, int]]] = {
            n: [] for n in range(ngram_range[0], ngram_range[1] + 1)
        }
        for column, parts in enumerate(split):
            key = 0
            for token in parts:
                key = key * self.base + self.tokens[token]
            by_length[len(parts)].append((key, column + offset))
        self.tables = {n: _Table.build(pairs) for n, pairs in by_length.items()}

    def hits(self, rows: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        get = self.tokens.get
        ids: list[int] = []
        lengths = []
        for words in rows:
            tokens = words.split(" ") if words else []
            ids += [get(t, -1) for t in tokens]
            lengths.append(len(tokens))
        units = np.array(ids, dtype=np.int64)
        row_of = np.repeat(np.arange(len(rows)), lengths)
        known = units >= 0
        return self._find(units, row_of, shift=None, base=self.base, known=known)


class NgramFeaturizer:
    """Turns segmented messages into the padded (ids, weights) the graph reads.

    Padding uses the id ``width``, one past the last column, whose model row
    is zero, so padded slots contribute nothing.
    """

    def __init__(
        self, blocks: Sequence[_Block], idf: np.ndarray, sublinear_tf: Sequence[bool]
    ) -> None:
        self.blocks = tuple(blocks)
        self.width = sum(b.size for b in self.blocks)
        self._idf = np.asarray(idf, dtype=np.float64)
        self._block_of = np.repeat(np.arange(len(self.blocks)), [b.size for b in self.blocks])
        self._sublinear = np.asarray(sublinear_tf, dtype=bool)
        self._idf_list: list[float] = self._idf.tolist()
        self._sublinear_list = [bool(x) for x in sublinear_tf]

    @classmethod
    def from_config(cls, config: Sequence[dict[str, Any]]) -> NgramFeaturizer:
        blocks: list[_Block] = []
        offset = 0
        for b in config:
            kind = {"char": CharBlock, "word": WordBlock}.get(b["analyzer"])
            if kind is None:
                raise ValueError(f"unknown analyzer {b['analyzer']!r}")
            ngram_range = (int(b["ngram_range"][0]), int(b["ngram_range"][1]))
            if kind is CharBlock:
                block: _Block = CharBlock(
                    ngram_range, b["vocabulary"], offset, strip_spaces=bool(b.get("strip_spaces"))
                )
            else:
                block = WordBlock(ngram_range, b["vocabulary"], offset)
            blocks.append(block)
            offset += len(b["vocabulary"])
        idf = np.concatenate([np.asarray(b["idf"], dtype=np.float64) for b in config])
        return cls(blocks, idf, [bool(b["sublinear_tf"]) for b in config])

    def transform(self, rows: Sequence[str]) -> dict[str, np.ndarray]:
        """Graph inputs for space-joined word strings, one row per string."""
        if len(rows) <= SMALL_BATCH:
            return self._pad([self._row(self._counts(words)) for words in rows])
        return self._transform_large(rows)

    def transform_messages(self, messages: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
        """Graph inputs for messages given as their clauses.

        Each message yields one row for the whole message (its clauses joined
        by spaces) and, when it has several clauses, one row per clause.
        """
        if sum(len(m) for m in messages) > SMALL_BATCH:
            rows: list[str] = []
            for clauses in messages:
                rows.append(" ".join(clauses))
                if len(clauses) > 1:
                    rows.extend(clauses)
            return self._transform_large(rows)
        # numpy's per-call overhead dominates for a handful of rows, so small
        # batches stay in plain Python, and the whole message's n-gram counts
        # are the clauses' counts plus the n-grams across each joining space.
        out: list[tuple[list[int], list[float]]] = []
        for clauses in messages:
            if len(clauses) == 1:
                out.append(self._row(self._counts(clauses[0])))
                continue
            parts = [self._columns(c) for c in clauses]
            whole = self._joined_counts(clauses, parts)
            out.append(self._row(whole))
            out.extend(self._row([_count(cols) for cols in part]) for part in parts)
        return self._pad(out)

    def _columns(self, words: str) -> list[list[int | None]]:
        """Per block: the model column of each n-gram (None when unknown)."""
        return [list(map(block.columns.get, block.ngrams(words))) for block in self.blocks]

    def _counts(self, words: str) -> list[Counter[int]]:
        """Per block: model column -> n-gram count."""
        return [_count(cols) for cols in self._columns(words)]

    def _joined_counts(
        self, clauses: Sequence[str], parts: list[list[list[int | None]]]
    ) -> list[Counter[int]]:
        whole = []
        for b, block in enumerate(self.blocks):
            across = block.ngrams_across(clauses)
            if across is None:  # a clause too short for the shortcut
                return self._counts(" ".join(clauses))
            columns = [col for part in parts for col in part[b]]
            columns += map(block.columns.get, across)
            whole.append(_count(columns))
        return whole

    def _row(self, counts: list[Counter[int]]) -> tuple[list[int], list[float]]:
        idf = self._idf_list
        ids: list[int] = []
        values: list[float] = []
        for block_counts, sublinear in zip(counts, self._sublinear_list, strict=True):
            if not block_counts:
                continue
            if sublinear:
                block_values = [
                    idf[c] if n == 1 else (1.0 + math.log(n)) * idf[c]
                    for c, n in block_counts.items()
                ]
            else:
                block_values = [n * idf[c] for c, n in block_counts.items()]
            norm = math.hypot(*block_values)
            ids += block_counts
            values += [v / norm for v in block_values]
        return ids, values

    def _pad(self, rows: list[tuple[list[int], list[float]]]) -> dict[str, np.ndarray]:
        length = max(1, *(len(ids) for ids, _ in rows)) if rows else 1
        pad = self.width
        return {
            "ids": np.array(
                [ids + [pad] * (length - len(ids)) for ids, _ in rows], dtype=np.int64
            ).reshape(len(rows), length),
            "weights": np.array(
                [v + [0.0] * (length - len(v)) for _, v in rows], dtype=np.float32
            ).reshape(len(rows), length),
        }

    def _transform_large(self, rows: Sequence[str]) -> dict[str, np.ndarray]:
        n_rows = len(rows)
        found = [block.hits(rows) for block in self.blocks]
        row = np.concatenate([r for r, _ in found])
        col = np.concatenate([c for _, c in found])
        stride = self.width + 1
        unique, counts = np.unique(row * stride + col, return_counts=True)
        row, col = unique // stride, unique % stride
        block = self._block_of[col]
        tf = counts.astype(np.float64)
        tf = np.where(self._sublinear[block], 1.0 + np.log(tf), tf)
        values = tf * self._idf[col]
        segment = row * len(self.blocks) + block
        norms = np.sqrt(
            np.bincount(segment, weights=values * values, minlength=n_rows * len(self.blocks))
        )
        values /= norms[segment]

        per_row = np.bincount(row, minlength=n_rows)
        length = max(1, int(per_row.max())) if n_rows else 1
        starts = np.concatenate(([0], np.cumsum(per_row)[:-1]))
        slot = np.arange(len(row)) - starts[row]
        ids = np.full((n_rows, length), self.width, dtype=np.int64)
        weights = np.zeros((n_rows, length), dtype=np.float32)
        ids[row, slot] = col
        weights[row, slot] = values
        return {"ids": ids, "weights": weights}


def _count(columns: list[int | None]) -> Counter[int]:
    counts = Counter(columns)  # counted in C
    counts.pop(None, None)
    return counts
