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


def count_csv_records(str text, str delimiter, Py_ssize_t field_limit) -> int:
    """The records ``csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
    strict=True)`` yields that hold at least one field (blank lines do not),
    or -1 where that reader would raise or ``text`` holds a NUL."""
    if len(delimiter) != 1:
        raise ValueError("the delimiter must be one character")
    cdef Py_UCS4 delim = delimiter[0]
    cdef Py_ssize_t n = len(text), i, records = 0, field_len = 0, fields = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef long c
    cdef State state = START_RECORD
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
        while True:  # once for the character, once more for the line's end
            if state == START_RECORD:
                if c == _EOL:
                    pass  # a blank line: the reader yields []
                elif c == _LF or c == _CR:
                    state = EAT_CRNL
                else:
                    state = START_FIELD
            if state == START_FIELD:
                if c == _LF or c == _CR or c == _EOL:
                    fields += 1
                    field_len = 0
                    state = START_RECORD if c == _EOL else EAT_CRNL
                elif c == _QUOTE:
                    state = IN_QUOTED_FIELD
                elif c == delim:
                    fields += 1
                    field_len = 0
                else:
                    field_len += 1
                    state = IN_FIELD
            elif state == IN_FIELD:
                if c == _LF or c == _CR or c == _EOL:
                    fields += 1
                    field_len = 0
                    state = START_RECORD if c == _EOL else EAT_CRNL
                elif c == delim:
                    fields += 1
                    field_len = 0
                    state = START_FIELD
                else:
                    field_len += 1
            elif state == IN_QUOTED_FIELD:
                if c == _EOL:
                    pass
                elif c == _QUOTE:
                    state = QUOTE_IN_QUOTED_FIELD
                else:
                    field_len += 1
            elif state == QUOTE_IN_QUOTED_FIELD:
                if c == _QUOTE:
                    field_len += 1
                    state = IN_QUOTED_FIELD
                elif c == delim:
                    fields += 1
                    field_len = 0
                    state = START_FIELD
                elif c == _LF or c == _CR or c == _EOL:
                    fields += 1
                    field_len = 0
                    state = START_RECORD if c == _EOL else EAT_CRNL
                else:
                    return -1  # strict: "',' expected after '"'"
            elif state == EAT_CRNL:
                if c == _EOL:
                    state = START_RECORD
                elif c != _LF and c != _CR:
                    return -1  # "new-line character seen in unquoted field"
            if field_len > field_limit:
                return -1  # "field larger than field limit"
            if c == _EOL or not line_ends:
                break
            c = _EOL
        if line_ends and state == START_RECORD:
            records += fields > 0
            fields = 0
    if state != START_RECORD:  # the text ends inside a quoted field
        return -1
    return records
