# cython: language_level=3, boundscheck=False, wraparound=False
"""Native CSV record counter for the block splitter (``blocks.count``).

Why it exists: with several workers, the reading process counts the records
of every block so that each block's first row number is known before a
worker parses it. ``csv.reader`` builds every field as a string to do that,
about 1 µs a chat line, and that process then holds back the workers. This
walks the same state machine as CPython's ``_csv.c`` reader (default dialect,
``strict=True``) over the characters and builds nothing.

Where ``csv.reader`` would raise (a character after a closing quote, a field
over the size limit, text ending inside a quoted field) or on text holding a
NUL, it answers -1 and the caller counts with ``csv`` itself, which knows how
to report the error. ``tests/test_batch_blocks.py`` holds the two to the same
count on the chat logs and on random text.

``count_csv_bytes`` runs the same machine over the undecoded bytes of a log
whose encoding never puts a byte below 0x30 inside a multi-byte character
(UTF-8, GBK/GB18030), so the reading process need not decode the block.
It counts a field's bytes against the field limit, at least its characters,
so it may answer -1 where ``csv`` would not: ``csv`` then counts, exactly.
"""

from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ

cdef enum State:
    START_RECORD
    START_FIELD
    IN_FIELD
    IN_QUOTED_FIELD
    QUOTE_IN_QUOTED_FIELD
    EAT_CRNL

cdef enum:
    _QUOTE = 34
    _CR = 13
    _LF = 10
    _EOL = -1  # the end of a line, as the reader feeds it after each line


cdef struct Machine:
    State state
    Py_ssize_t records, fields, field_len


cdef inline bint _feed(
    Machine* m, long c, long delim, bint line_ends, Py_ssize_t limit
) noexcept nogil:
    """One character (and, if it ends a line, the line's end) through the
    reader's states; False where ``csv.reader`` would raise."""
    while True:  # once for the character, once more for the line's end
        if m.state == START_RECORD:
            if c == _EOL:
                pass  # a blank line: the reader yields []
            elif c == _LF or c == _CR:
                m.state = EAT_CRNL
            else:
                m.state = START_FIELD
        if m.state == START_FIELD:
            if c == _LF or c == _CR or c == _EOL:
                m.fields += 1
                m.field_len = 0
                m.state = START_RECORD if c == _EOL else EAT_CRNL
            elif c == _QUOTE:
                m.state = IN_QUOTED_FIELD
            elif c == delim:
                m.fields += 1
                m.field_len = 0
            else:
                m.field_len += 1
                m.state = IN_FIELD
        elif m.state == IN_FIELD:
            if c == _LF or c == _CR or c == _EOL:
                m.fields += 1
                m.field_len = 0
                m.state = START_RECORD if c == _EOL else EAT_CRNL
            elif c == delim:
                m.fields += 1
                m.field_len = 0
                m.state = START_FIELD
            else:
                m.field_len += 1
        elif m.state == IN_QUOTED_FIELD:
            if c == _EOL:
                pass
            elif c == _QUOTE:
                m.state = QUOTE_IN_QUOTED_FIELD
            else:
                m.field_len += 1
        elif m.state == QUOTE_IN_QUOTED_FIELD:
            if c == _QUOTE:
                m.field_len += 1
                m.state = IN_QUOTED_FIELD
            elif c == delim:
                m.fields += 1
                m.field_len = 0
                m.state = START_FIELD
            elif c == _LF or c == _CR or c == _EOL:
                m.fields += 1
                m.field_len = 0
                m.state = START_RECORD if c == _EOL else EAT_CRNL
            else:
                return False  # strict: "',' expected after '"'"
        elif m.state == EAT_CRNL:
            if c == _EOL:
                m.state = START_RECORD
            elif c != _LF and c != _CR:
                return False  # "new-line character seen in unquoted field"
        if m.field_len > limit:
            return False  # "field larger than field limit"
        if c == _EOL or not line_ends:
            break
        c = _EOL
    if line_ends and m.state == START_RECORD:
        m.records += m.fields > 0
        m.fields = 0
    return True


def count_csv_records(str text, str delimiter, Py_ssize_t field_limit) -> int:
    """The records ``csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
    strict=True)`` yields that hold at least one field (blank lines do not),
    or -1 where that reader would raise or ``text`` holds a NUL."""
    if len(delimiter) != 1:
        raise ValueError("the delimiter must be one character")
    cdef Py_UCS4 delim = delimiter[0]
    cdef Py_ssize_t n = len(text), i
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef long c
    cdef Machine m = Machine(START_RECORD, 0, 0, 0)
    cdef bint line_ends
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if c == 0:
            return -1
        # StringIO(newline="") ends a line after "\n", "\r\n" or a lone "\r",
        # and the text's last line whether or not it has a line break.
        line_ends = c == _LF or i + 1 == n or (
            c == _CR and PyUnicode_READ(kind, data, i + 1) != _LF
        )
        if not _feed(&m, c, delim, line_ends, field_limit):
            return -1
    if m.state != START_RECORD:  # the text ends inside a quoted field
        return -1
    return m.records


def count_csv_bytes(const unsigned char[:] data, str delimiter, Py_ssize_t field_limit):
    """``(count_csv_records(text, ...), lines)`` for ``text`` the decoded
    ``data``, read from the bytes (see the module's note for which
    encodings), counting bytes against ``field_limit``; ``lines`` counts
    "\r\n", "\n" and a lone "\r" once each. ``(-1, lines)`` where
    ``count_csv_records`` would answer -1, or might (a field over the limit
    in bytes)."""
    if len(delimiter) != 1 or ord(delimiter) >= 0x30:
        raise ValueError("the delimiter must be one character below 0x30")
    cdef long delim = ord(delimiter)
    cdef Py_ssize_t n = data.shape[0], i = 0, j, lines = 0
    cdef long c
    cdef Machine m = Machine(START_RECORD, 0, 0, 0)
    cdef bint line_ends, ok = True
    cdef bint special[256]
    for c in range(256):
        special[c] = c == 0 or c == _LF or c == _CR or c == _QUOTE or c == delim
    with nogil:
        while i < n:
            c = data[i]
            if ok and not special[c] and i + 1 < n and (
                m.state == IN_FIELD or m.state == IN_QUOTED_FIELD
            ):
                # A run of plain bytes inside a field (most of a chat line)
                # only lengthens it; the file's last byte still goes through
                # the machine, which ends the line there.
                j = i + 1
                while j + 1 < n and not special[data[j]]:
                    j += 1
                m.field_len += j - i
                ok = m.field_len <= field_limit
                i = j
                continue
            line_ends = c == _LF or (c == _CR and (i + 1 == n or data[i + 1] != _LF))
            lines += line_ends
            if ok:
                if c == 0:
                    ok = False
                else:
                    ok = _feed(&m, c, delim, line_ends or i + 1 == n, field_limit)
            i += 1
    if not ok or m.state != START_RECORD:
        return -1, lines
    return m.records, lines
