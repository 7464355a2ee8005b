"""Sparse TF-IDF features for the ONNX intent graph.

scikit-learn's ``TfidfVectorizer`` blocks are fitted at training time; at
serving time we need their n-gram vocabularies and idf weights. A message
becomes the ids of its own n-grams with their L2-normalised TF-IDF weights,
and the ONNX graph gathers and sums the matching rows of the linear model.

Why not skl2onnx's ``TfidfVectorizer`` converter: its ONNX operator emits a
dense vocabulary-sized vector per message, about 0.6 ms per message at 30k
n-grams on a small machine, where this sparse path costs a few microseconds.

Every n-gram becomes an integer key. Characters are code points (21 bits
each, so up to three fit in an int64 exactly); words are indices into the
vocabulary's token list. Keys are looked up in sorted tables built at load
time, by one of two interchangeable paths:

- the native kernel (``_ngrams.pyx``, compiled at install): one C pass per
  row, a few microseconds for a chat message;
- NumPy (``np.searchsorted``), used when the kernel was not built (no C
  compiler at install): a batch is processed in one pass, n-grams that would
  cross from one message into the next masked out. It is about as fast on
  large batches, but per-call overhead makes it slow for a single message.

Both equal scikit-learn's ``transform`` for the configuration training uses
(words joined by single spaces, both blocks over that string);
``tests/test_features.py`` holds them to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    from . import _ngrams
except ImportError:  # installed without a C compiler: the NumPy path serves
    _ngrams = None

NATIVE_AVAILABLE = _ngrams is not None
_CHAR_BITS = 21  # enough for any Unicode code point
_MAX_CHAR_N = 63 // _CHAR_BITS


@dataclass(frozen=True)
class _Table:
    """Sorted n-gram keys of one length and the model column of each."""

    keys: np.ndarray
    columns: np.ndarray

    @classmethod
    def build(cls, pairs: list[tuple[int, int]]) -> _Table:
        keys = np.array([k for k, _ in pairs], dtype=np.int64)
        columns = np.array([c for _, c in pairs], dtype=np.int64)
        return cls.sorted(keys, columns)

    @classmethod
    def sorted(cls, keys: np.ndarray, columns: np.ndarray) -> _Table:
        order = np.lexsort((columns, keys))  # by key, then column, as pairs sort
        return cls(keys[order], columns[order].astype(np.int64))

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
    tables: dict[int, _Table]
    strip_spaces: bool = False  # character blocks may read the words without spaces

    def hits(self, rows: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def flat_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every length's table one after the other, for the native kernel.

        Returns (keys, columns, starts): length ``lo + i`` is at
        ``starts[i]:starts[i + 1]``.
        """
        lo, hi = self.ngram_range
        tables = [self.tables[n] for n in range(lo, hi + 1)]
        starts = np.cumsum([0, *(len(t.keys) for t in tables)]).astype(np.int64)
        keys = np.concatenate([t.keys for t in tables])
        columns = np.concatenate([t.columns for t in tables])
        return keys, columns, starts

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
        # In NumPy, not per n-gram: a vocabulary has 10^5 of them, and this
        # runs at every start of the CLI, the sidecar and each batch worker.
        lengths = np.fromiter(map(len, vocabulary), dtype=np.int64, count=len(vocabulary))
        units = np.frombuffer(
            "".join(vocabulary).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        ).astype(np.int64)
        starts = np.cumsum(lengths) - lengths
        lo, hi = ngram_range
        if len(lengths) and (lengths.min() < lo or lengths.max() > hi):
            raise ValueError(f"the vocabulary holds n-grams outside {ngram_range}")
        self.tables = {}
        for n in range(lo, hi + 1):
            grams = np.flatnonzero(lengths == n)
            keys = np.zeros(len(grams), dtype=np.int64)
            for k in range(n):
                keys = (keys << _CHAR_BITS) | units[starts[grams] + k]
            self.tables[n] = _Table.sorted(keys, grams + offset)

    def hits(self, rows: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [r.replace(" ", "") for r in rows] if self.strip_spaces else rows
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

    Parameters
    ----------
    native:
        Use the compiled kernel (``quickphrase.model._ngrams``). ``None``
        (default) uses it when it was built; ``False`` forces the NumPy path,
        which gives the same features, slower on small batches.
    """

    def __init__(
        self,
        blocks: Sequence[_Block],
        idf: np.ndarray,
        sublinear_tf: Sequence[bool],
        *,
        native: bool | None = None,
    ) -> None:
        self.blocks = tuple(blocks)
        self.width = sum(b.size for b in self.blocks)
        self._idf = np.asarray(idf, dtype=np.float64)
        self._block_of = np.repeat(np.arange(len(self.blocks)), [b.size for b in self.blocks])
        self._sublinear = np.asarray(sublinear_tf, dtype=bool)
        if native and _ngrams is None:
            raise ImportError(
                "the native featuriser quickphrase.model._ngrams was not built; "
                "reinstall with a C compiler (pip install -e .) or pass native=False"
            )
        self.native = NATIVE_AVAILABLE if native is None else native
        self._kernel = self._build_kernel() if self.native else None

    @classmethod
    def from_config(
        cls, config: Sequence[dict[str, Any]], *, native: bool | None = None
    ) -> NgramFeaturizer:
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
        return cls(blocks, idf, [bool(b["sublinear_tf"]) for b in config], native=native)

    def transform(self, rows: Sequence[str]) -> dict[str, np.ndarray]:
        """Graph inputs for space-joined word strings, one row per string."""
        if self._kernel is not None:
            return self._kernel.transform(rows)
        return self._transform_large(rows)

    def transform_messages(self, messages: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
        """Graph inputs for messages given as their clauses.

        Each message yields one row for the whole message (its clauses joined
        by spaces) and, when it has several clauses, one row per clause.
        """
        rows: list[str] = []
        for clauses in messages:
            rows.append(" ".join(clauses))
            if len(clauses) > 1:
                rows.extend(clauses)
        return self.transform(rows)

    def _build_kernel(self) -> Any:
        kernels = []
        for block, sublinear in zip(self.blocks, self._sublinear.tolist(), strict=True):
            keys, columns, starts = block.flat_tables()
            words = isinstance(block, WordBlock)
            kernels.append(
                _ngrams.BlockKernel(
                    words=words,
                    strip_spaces=block.strip_spaces,
                    sublinear=sublinear,
                    lo=block.ngram_range[0],
                    hi=block.ngram_range[1],
                    shift=0 if words else _CHAR_BITS,
                    base=block.base if words else 0,
                    keys=keys,
                    columns=columns,
                    starts=starts,
                    idf=self._idf,
                    tokens=block.tokens if words else None,
                )
            )
        return _ngrams.Kernel(kernels, self.width)

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

