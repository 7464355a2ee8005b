# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Native word cutter: jieba's dictionary cut (``Tokenizer.cut(text, HMM=False)``)
in one C pass, over the same dictionary and with the same output.

Why it exists: jieba builds every candidate word of a message as a Python
string and looks it up in a dict of 100,000 words and prefixes; that is 20-30
µs of a chat message, most of the time the classifier spends. Here the
dictionary is a trie of code points in an open-addressing hash table, and a
message costs a couple of microseconds.

It follows jieba 0.42.1 step by step, so the tokens are identical
(``tests/test_segment.py`` holds it to jieba on every corpus message and on
random text):

- the text is split into runs of "han" characters (CJK U+4E00-U+9FD5, ASCII
  letters and digits, ``+#&._%-``) and the rest; outside a run every
  character is a token, except that ``\\r\\n`` stays one token;
- inside a run, the DAG of dictionary words starting at each position;
- the best route from the right, ``log(freq or 1) - log(total) + route``,
  ties going to the longer word (``max`` over ``(score, end)`` tuples);
- single ASCII letters and digits on the route are glued back together.

The arithmetic is the same double-precision sequence as jieba's, so equal
scores tie the same way.

``split_clauses`` is the other half of segmentation, grouping those tokens
into clauses; it is ``segment._split_clauses`` compiled (the per-token Python
loop cost more than the cut itself) and is held to it the same way.
"""

from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.math cimport log
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free

from _native cimport fibonacci_hash, grow

cdef enum:
    _CHAR_BITS = 21  # a code point fits; the key is parent << 21 | code point


cdef struct Slot:  # 16 bytes: four to a cache line
    int64_t key  # -1: empty
    int32_t child


cdef inline int64_t _edge(Py_ssize_t node, Py_UCS4 c) noexcept nogil:
    # A trie edge as one key: the parent node, then the code point.
    return (<int64_t>node << _CHAR_BITS) | <int64_t>c


cdef inline bint _is_han(Py_UCS4 c) noexcept nogil:
    # jieba's re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]
    if 0x4E00 <= c <= 0x9FD5:
        return True
    if c < 128:
        return (
            (c >= 97 and c <= 122) or (c >= 65 and c <= 90) or (c >= 48 and c <= 57)
            or c == 43 or c == 35 or c == 38 or c == 46 or c == 95 or c == 37 or c == 45
        )
    return False


cdef inline bint _is_ascii_alnum(Py_UCS4 c) noexcept nogil:
    # jieba's re_eng: [a-zA-Z0-9]
    return (c >= 97 and c <= 122) or (c >= 65 and c <= 90) or (c >= 48 and c <= 57)


cdef class DagCutter:
    """jieba's dictionary cut over a frozen copy of a tokenizer's dictionary.

    Parameters
    ----------
    freq:
        ``Tokenizer.FREQ`` after ``initialize()`` and any user dictionaries:
        every word with its count, every prefix of a word (count 0 unless it
        is a word itself).
    total:
        ``Tokenizer.total``, the sum of the counts.
    """

    cdef Slot* slots
    cdef uint64_t mask
    cdef int shift
    cdef Py_ssize_t filled
    cdef double* weights  # per trie node: log(count), or -1.0 when not a word
    cdef Py_ssize_t nodes, node_capacity
    cdef double logtotal
    # Per-call scratch for the route, grown to the longest run seen.
    cdef double* route_score
    cdef Py_ssize_t* route_end
    cdef Py_ssize_t route_capacity

    def __cinit__(self):
        self.slots = NULL
        self.weights = NULL
        self.route_score = NULL
        self.route_end = NULL

    def __init__(self, dict freq, total):
        cdef Py_ssize_t capacity = 16
        cdef int bits = 4
        cdef Py_ssize_t i
        if total <= 0:
            raise ValueError(f"the dictionary's total count must be positive, not {total}")
        self.logtotal = log(<double>total)
        # Nodes: the root plus one per key when every prefix is a key (jieba's
        # layout); the tables grow if a dictionary breaks that rule.
        while capacity < 2 * (len(freq) + 1):
            capacity *= 2
            bits += 1
        self.slots = <Slot*>grow(NULL, capacity * sizeof(Slot))
        for i in range(capacity):
            self.slots[i].key = -1
        self.mask = capacity - 1
        self.shift = 64 - bits
        self.filled = 0
        self.node_capacity = len(freq) + 1
        self.weights = <double*>grow(NULL, self.node_capacity * sizeof(double))
        self.weights[0] = -1.0
        self.nodes = 1
        for word, count in freq.items():
            self._add(word, count)
        self.route_capacity = 64
        self.route_score = <double*>grow(NULL, (self.route_capacity + 1) * sizeof(double))
        self.route_end = <Py_ssize_t*>grow(NULL, (self.route_capacity + 1) * sizeof(Py_ssize_t))

    def __dealloc__(self):
        free(self.slots)
        free(self.weights)
        free(self.route_score)
        free(self.route_end)

    @property
    def size(self) -> int:
        """Trie nodes (the root, every word and every prefix)."""
        return self.nodes

    cdef int _add(self, str word, object count) except -1:
        cdef Py_ssize_t node = 0, i
        cdef int64_t n = count
        if n < 0:
            raise ValueError(f"dictionary word {word!r} has a negative count {n}")
        for i in range(len(word)):
            node = self._child(node, word[i])
        if node and n > 0:
            self.weights[node] = log(<double>n)
        return 0

    cdef inline uint64_t _slot(self, int64_t key) noexcept nogil:
        """The slot holding ``key``, or the empty slot where it would go."""
        cdef uint64_t at = fibonacci_hash(key, self.shift)
        while self.slots[at].key != key and self.slots[at].key != -1:
            at = (at + 1) & self.mask
        return at

    cdef inline Py_ssize_t _find(self, Py_ssize_t node, Py_UCS4 c) noexcept nogil:
        """The child of ``node`` along ``c``, or -1."""
        cdef Slot* slot = &self.slots[self._slot(_edge(node, c))]
        return slot.child if slot.key != -1 else -1

    cdef Py_ssize_t _child(self, Py_ssize_t node, Py_UCS4 c) except -1:
        """The child of ``node`` along ``c``, added if it is new."""
        cdef int64_t key = _edge(node, c)
        cdef uint64_t at = self._slot(key)
        if self.slots[at].key == key:
            return self.slots[at].child
        if 2 * (self.filled + 1) > <Py_ssize_t>(self.mask + 1):
            self._rehash()
            at = self._slot(key)
        if self.nodes == self.node_capacity:
            self.node_capacity *= 2
            self.weights = <double*>grow(self.weights, self.node_capacity * sizeof(double))
        self.slots[at].key = key
        self.slots[at].child = <int32_t>self.nodes
        self.weights[self.nodes] = -1.0
        self.filled += 1
        self.nodes += 1
        return self.nodes - 1

    cdef int _rehash(self) except -1:
        cdef Slot* old = self.slots
        cdef Py_ssize_t old_capacity = self.mask + 1, i
        cdef Py_ssize_t capacity = 2 * old_capacity
        self.slots = <Slot*>grow(NULL, capacity * sizeof(Slot))
        for i in range(capacity):
            self.slots[i].key = -1
        self.mask = capacity - 1
        self.shift -= 1
        for i in range(old_capacity):
            if old[i].key != -1:
                self.slots[self._slot(old[i].key)] = old[i]
        free(old)
        return 0

    def cut(self, str text) -> list:
        """The tokens of ``text``, as ``list(tokenizer.cut(text, HMM=False))``."""
        cdef list tokens = []
        cdef Py_ssize_t n = len(text), i = 0, j
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef Py_UCS4 c
        while i < n:
            c = PyUnicode_READ(kind, data, i)
            if _is_han(c):
                j = i + 1
                while j < n and _is_han(PyUnicode_READ(kind, data, j)):
                    j += 1
                self._cut_run(text, kind, data, i, j, tokens)
                i = j
            elif c == 13 and i + 1 < n and PyUnicode_READ(kind, data, i + 1) == 10:
                tokens.append(text[i : i + 2])
                i += 2
            else:
                tokens.append(text[i])
                i += 1
        return tokens

    cdef int _cut_run(
        self, str text, int kind, void* data, Py_ssize_t start, Py_ssize_t stop, list tokens
    ) except -1:
        cdef Py_ssize_t n = stop - start, idx, p, node, end, x, y, glued
        cdef double score, best
        cdef bint found
        if n > self.route_capacity:
            self.route_capacity = n
            self.route_score = <double*>grow(self.route_score, (n + 1) * sizeof(double))
            self.route_end = <Py_ssize_t*>grow(self.route_end, (n + 1) * sizeof(Py_ssize_t))
        self.route_score[n] = 0.0
        self.route_end[n] = 0
        for idx in range(n - 1, -1, -1):
            found = False
            best = 0.0
            end = idx
            node = 0
            p = idx
            while p < n:
                node = self._find(node, PyUnicode_READ(kind, data, start + p))
                if node < 0:
                    break
                if self.weights[node] >= 0.0:
                    score = self.weights[node] - self.logtotal + self.route_score[p + 1]
                    # max() over (score, end) tuples: a tie goes to the later end.
                    if not found or score >= best:
                        best = score
                        end = p
                        found = True
                p += 1
            if not found:  # the character alone, count "or 1": log(1) == 0
                best = 0.0 - self.logtotal + self.route_score[idx + 1]
                end = idx
            self.route_score[idx] = best
            self.route_end[idx] = end
        x = 0
        glued = -1  # start of a run of single ASCII letters and digits
        while x < n:
            y = self.route_end[x] + 1
            if y - x == 1 and _is_ascii_alnum(PyUnicode_READ(kind, data, start + x)):
                if glued < 0:
                    glued = x
            else:
                if glued >= 0:
                    tokens.append(text[start + glued : start + x])
                    glued = -1
                tokens.append(text[start + x : start + y])
            x = y
        if glued >= 0:
            tokens.append(text[start + glued : start + n])
        return 0


# Token kinds: segment.py's _WORD, _BREAK and _OPENER (anything else is
# dropped); the tests that hold this to segment._split_clauses catch a drift.
cdef enum:
    _WORD = 0
    _BREAK = 1
    _OPENER = 2


def split_clauses(
    frozenset markers, Py_ssize_t min_chars, list tokens, dict kinds, object remember
) -> tuple:
    """``segment._split_clauses(tokens, kinds, remember)``, compiled: the
    space-joined words and the tuple of space-joined clauses. The first two
    arguments come first so that ``functools.partial`` can bind them.

    ``kinds`` maps a token to its kind; ``remember(token)`` classifies (and
    may store) one it lacks. Clauses whose characters, not counting
    ``markers``, number fewer than ``min_chars`` join the next clause (the
    last one joins the one before).
    """
    cdef list clauses = [], current = [], merged, pending
    cdef object token
    cdef PyObject* found
    cdef long kind
    cdef Py_ssize_t chars, last
    for token in tokens:
        found = PyDict_GetItem(kinds, token)
        kind = remember(token) if found == NULL else <long><object>found
        if kind == _WORD:
            current.append(token)
        elif kind == _BREAK:
            if current:
                clauses.append(current)
                current = []
        elif kind == _OPENER:
            if current:
                clauses.append(current)
            current = [token]
    if current:
        clauses.append(current)
    if len(clauses) == 1:
        words = " ".join(clauses[0])
        return words, (words,)
    merged = []
    pending = []
    for current in clauses:
        chars = 0
        for token in current:
            if token not in markers:
                chars += len(token)
        if chars < min_chars:
            pending.extend(current)
            continue
        merged.append(" ".join(pending + current) if pending else " ".join(current))
        pending = []
    if pending:
        if merged:  # no negative indexing: the module turns wraparound off
            last = len(merged) - 1
            merged[last] = merged[last] + " " + " ".join(pending)
        else:
            merged.append(" ".join(pending))
    parts = tuple(merged)
    return " ".join(parts), parts
