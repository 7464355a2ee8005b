# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Native TF-IDF featuriser: the same features as ``features.NgramFeaturizer``'s
NumPy path, in one C pass per row.

Why it exists: on a chat message the Python and NumPy paths spend 100+ µs in
interpreter and per-call overhead for a few dozen n-grams; this kernel does the
n-gram keys, the vocabulary look-ups (hash tables filled from the same sorted
tables), the counting, sublinear tf, idf and L2 normalisation in a few microseconds.

Keys are built exactly as ``features._ngram_keys`` builds them, from the same
``shift`` or ``base``: characters are code points packed ``shift`` bits each;
words are token indices combined in base ``len(tokens)``.
"""

from cpython.buffer cimport PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from libc.math cimport log, sqrt
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free

from _native cimport fibonacci_hash as _hash
from _native cimport grow as _grow

import numpy as np

cdef enum:
    _MAX_N = 8  # the most n-gram lengths a block may ask for


cdef class _Buffer:
    """A growable array of int64 (the n-gram slots of one row and block)."""

    cdef int64_t* data
    cdef Py_ssize_t size, capacity

    def __cinit__(self):
        self.capacity = 256
        self.size = 0
        self.data = <int64_t*>_grow(NULL, self.capacity * sizeof(int64_t))

    def __dealloc__(self):
        free(self.data)

    cdef int push(self, int64_t value) except -1:
        if self.size == self.capacity:
            self.data = <int64_t*>_grow(self.data, 2 * self.capacity * sizeof(int64_t))
            self.capacity *= 2
        self.data[self.size] = value
        self.size += 1
        return 0


cdef struct Slot:  # 16 bytes: four to a cache line
    int64_t key
    int32_t column  # -1: empty
    float idf


cdef class BlockKernel:
    """One analyzer block: its n-gram vocabulary as hash tables, one per length.

    ``keys`` and ``columns`` hold the n-grams of every length one after the
    other, length ``lo + i`` in ``starts[i]:starts[i + 1]``; ``idf`` is indexed
    by column. ``tokens`` maps words to indices (``None`` for characters).
    A key packs its units ``shift`` bits each, or in base ``base`` when
    ``shift`` is 0 (words).

    Why hash tables when ``features.py`` searches sorted arrays: a message's
    n-grams hit the vocabulary at random, and a binary search pays a cache
    miss per level; an open-addressing slot holding the key, column and idf
    together costs about one.
    """

    cdef readonly bint words, strip_spaces, sublinear
    cdef readonly int lo, hi, shift
    cdef readonly int64_t base
    cdef Slot* slots
    # Per slot, zero between rows: how often the current row holds it. Shared
    # by every caller of this kernel, which is safe only because ``transform``
    # holds the GIL from counting to resetting (no Python call in between).
    # Releasing the GIL there, or a free-threaded build, needs a per-call array.
    cdef int32_t* counts
    cdef Py_ssize_t[_MAX_N] offsets
    cdef uint64_t[_MAX_N] masks
    cdef int[_MAX_N] shifts
    cdef dict tokens

    def __cinit__(self):
        self.slots = NULL
        self.counts = NULL

    def __init__(self, *, words, strip_spaces, sublinear, lo, hi, shift, base,
                 keys, columns, starts, idf, tokens=None):
        cdef const int64_t[:] key_view = np.ascontiguousarray(keys, dtype=np.int64)
        cdef const int64_t[:] column_view = np.ascontiguousarray(columns, dtype=np.int64)
        cdef const int64_t[:] start_view = np.ascontiguousarray(starts, dtype=np.int64)
        cdef const double[:] idf_view = np.ascontiguousarray(idf, dtype=np.float64)
        cdef Py_ssize_t i, n, total = 0, size
        cdef uint64_t capacity, at
        cdef int bits
        cdef Slot* slot
        if not 1 <= lo <= hi or hi - lo + 1 > _MAX_N:
            raise ValueError(f"n-gram range ({lo}, {hi}) is not supported")
        if start_view.shape[0] != hi - lo + 2:
            raise ValueError("starts must bound one table per n-gram length")
        if column_view.shape[0] and np.max(columns) >= 2**31:
            raise ValueError("more model columns than a 32-bit slot can name")
        self.words = words
        self.strip_spaces = strip_spaces
        self.sublinear = sublinear
        self.lo = lo
        self.hi = hi
        self.shift = shift
        self.base = base
        self.tokens = tokens if tokens is not None else {}
        for n in range(hi - lo + 1):
            size = start_view[n + 1] - start_view[n]
            capacity, bits = 8, 3
            while capacity < 2 * <uint64_t>size:  # at most half full: short probes
                capacity *= 2
                bits += 1
            self.offsets[n] = total
            self.masks[n] = capacity - 1
            self.shifts[n] = 64 - bits
            total += capacity
        self.slots = <Slot*>_grow(NULL, total * sizeof(Slot))
        self.counts = <int32_t*>_grow(NULL, total * sizeof(int32_t))
        for i in range(total):
            self.slots[i].column = -1
            self.counts[i] = 0
        for n in range(hi - lo + 1):
            for i in range(start_view[n], start_view[n + 1]):
                at = _hash(key_view[i], self.shifts[n])
                while self.slots[self.offsets[n] + at].column >= 0:
                    at = (at + 1) & self.masks[n]
                slot = &self.slots[self.offsets[n] + at]
                slot.key = key_view[i]
                slot.column = <int32_t>column_view[i]
                slot.idf = <float>idf_view[column_view[i]]

    def __dealloc__(self):
        free(self.slots)
        free(self.counts)

    cdef inline Py_ssize_t find(self, int n, int64_t key) noexcept nogil:
        """Slot index of ``key`` in the table of length ``n``, or -1."""
        cdef Py_ssize_t offset = self.offsets[n - self.lo]
        cdef uint64_t mask = self.masks[n - self.lo]
        cdef uint64_t at = _hash(key, self.shifts[n - self.lo])
        cdef Slot* slot
        while True:
            slot = &self.slots[offset + at]
            if slot.column < 0:
                return -1
            if slot.key == key:
                return offset + at
            at = (at + 1) & mask

    cdef Py_ssize_t _units(self, str row, int64_t* units) except -1:
        """Code points or token indices (-1: unknown word) of ``row``."""
        cdef Py_ssize_t n = 0
        cdef Py_UCS4 ch
        cdef object index
        if self.words:
            if not row:
                return 0
            for token in row.split(" "):
                index = self.tokens.get(token)
                units[n] = -1 if index is None else <int64_t>index
                n += 1
        else:
            for ch in row:
                if self.strip_spaces and ch == u" ":
                    continue
                units[n] = <int64_t>ch
                n += 1
        return n

    cdef int collect(self, str row, int64_t* units, _Buffer found) except -1:
        """Push the slot of every in-vocabulary n-gram of ``row``."""
        cdef Py_ssize_t count = self._units(row, units)
        cdef Py_ssize_t i, k, at
        cdef int n
        cdef int64_t key
        cdef bint known
        found.size = 0
        for n in range(self.lo, self.hi + 1):
            for i in range(count - n + 1):
                key = 0
                known = True
                for k in range(n):
                    if units[i + k] < 0:  # an unknown word
                        known = False
                        break
                    if self.shift:
                        key = (key << self.shift) | units[i + k]
                    else:
                        key = key * self.base + units[i + k]
                if not known:
                    continue
                at = self.find(n, key)
                if at >= 0:
                    found.push(at)
        return 0


cdef class Kernel:
    """All blocks of a featuriser; ``width`` is the padding id."""

    cdef list blocks
    cdef readonly int64_t width

    def __init__(self, blocks, width):
        self.blocks = list(blocks)
        self.width = width

    def transform(self, rows):
        """Graph inputs (padded ``ids`` and ``weights``) for space-joined word strings."""
        cdef Py_ssize_t n_rows = len(rows)
        cdef Py_ssize_t r, i, j, start, longest = 1, total = 0, run, unique
        cdef Py_ssize_t cap = 0
        cdef int64_t* units = NULL
        cdef int64_t* out_ids = NULL
        cdef double* out_values = NULL
        cdef Py_ssize_t out_size = 0, out_cap = 256
        cdef Py_ssize_t* lengths = NULL
        cdef _Buffer found = _Buffer()
        cdef BlockKernel block
        cdef Slot* slot
        cdef double tf, norm
        cdef str row
        try:
            lengths = <Py_ssize_t*>_grow(NULL, (n_rows + 1) * sizeof(Py_ssize_t))
            out_ids = <int64_t*>_grow(NULL, out_cap * sizeof(int64_t))
            out_values = <double*>_grow(NULL, out_cap * sizeof(double))
            for r in range(n_rows):
                row = rows[r]
                if len(row) + 1 > cap:
                    cap = len(row) + 1
                    units = <int64_t*>_grow(units, cap * sizeof(int64_t))
                for block in self.blocks:
                    block.collect(row, units, found)
                    if found.size == 0:
                        continue
                    if out_size + found.size > out_cap:
                        out_cap = 2 * (out_size + found.size)
                        out_ids = <int64_t*>_grow(out_ids, out_cap * sizeof(int64_t))
                        out_values = <double*>_grow(out_values, out_cap * sizeof(double))
                    # Count each n-gram's repeats in the block's per-slot counters,
                    # keeping first occurrences in place: linear, where sorting
                    # the slots was n log n. Nothing below can raise, so the
                    # counters are always back at zero for the next row.
                    unique = 0
                    for i in range(found.size):
                        block.counts[found.data[i]] += 1
                        if block.counts[found.data[i]] == 1:
                            found.data[unique] = found.data[i]
                            unique += 1
                    start = out_size
                    norm = 0.0
                    for i in range(unique):
                        run = block.counts[found.data[i]]
                        block.counts[found.data[i]] = 0
                        slot = &block.slots[found.data[i]]
                        if run == 1:  # the usual case; log(1) is 0
                            tf = 1.0
                        else:
                            tf = (1.0 + log(<double>run)) if block.sublinear else <double>run
                        out_ids[out_size] = slot.column
                        out_values[out_size] = tf * slot.idf
                        norm += out_values[out_size] * out_values[out_size]
                        out_size += 1
                    norm = sqrt(norm)
                    for j in range(start, out_size):
                        out_values[j] /= norm
                lengths[r] = out_size - total
                total = out_size
                if lengths[r] > longest:
                    longest = lengths[r]
            ids = np.empty((n_rows, longest), dtype=np.int64)
            weights = np.empty((n_rows, longest), dtype=np.float32)
            _fill(ids, weights, n_rows, longest, self.width, lengths, out_ids, out_values)
            return {"ids": ids, "weights": weights}
        finally:
            free(lengths)
            free(units)
            free(out_ids)
            free(out_values)


cdef int _fill(
    object ids, object weights, Py_ssize_t n_rows, Py_ssize_t longest, int64_t pad,
    Py_ssize_t* lengths, int64_t* out_ids, double* out_values,
) except -1:
    """Write the rows into fresh C-contiguous ``ids`` and ``weights``, padded.

    Through the raw buffers: acquiring typed memoryviews costs more than the
    copy itself on a chat message.
    """
    cdef Py_buffer ids_view, weights_view
    cdef int64_t* id_data
    cdef float* weight_data
    cdef Py_ssize_t r, j, at = 0
    PyObject_GetBuffer(ids, &ids_view, PyBUF_WRITABLE)
    try:
        PyObject_GetBuffer(weights, &weights_view, PyBUF_WRITABLE)
        try:
            id_data = <int64_t*>ids_view.buf
            weight_data = <float*>weights_view.buf
            for r in range(n_rows):
                for j in range(longest):
                    if j < lengths[r]:
                        id_data[r * longest + j] = out_ids[at]
                        weight_data[r * longest + j] = <float>out_values[at]
                        at += 1
                    else:
                        id_data[r * longest + j] = pad
                        weight_data[r * longest + j] = 0.0
        finally:
            PyBuffer_Release(&weights_view)
    finally:
        PyBuffer_Release(&ids_view)
    return 0
