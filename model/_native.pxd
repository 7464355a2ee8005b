# Helpers shared by the compiled parts (``_ngrams.pyx``, ``_dag.pyx``); inline,
# so each extension gets its own copy and nothing needs linking.

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport realloc


cdef inline uint64_t fibonacci_hash(int64_t key, int shift) noexcept nogil:
    # The product's high bits depend on every bit of the key; ``shift`` keeps
    # as many of them as the table has slots (64 - log2(slots)).
    return (<uint64_t>key * 0x9E3779B97F4A7C15ULL) >> shift


cdef inline void* grow(void* data, size_t size) except NULL:
    """``realloc`` (``malloc`` when ``data`` is NULL) that raises instead of failing."""
    cdef void* grown = realloc(data, size)
    if grown == NULL:
        raise MemoryError()
    return grown
