"""Workers write their blocks' output straight into the output file, in order.

Why: a cached chat line costs a worker about 7 µs, and each line's output is
about a kilobyte. When workers spilled their output to part files and the
main process copied them in, the gigabyte of a million-line log was written
twice and the copy ran on a core the two workers needed.

How: blocks are numbered in input order. The worker that finishes block
``b`` waits until block ``b - 1`` has *reserved* its bytes (not written
them), reserves the next ``size`` bytes of the file and writes there with
``os.pwrite`` while the next block may already reserve. Blocks are handed out
in order, so block ``b - 1`` started first and the wait is short; a worker
that would wait longer than ``patience`` (its predecessor failed, or is a
much slower block) spills to a part file instead, and the main process
reserves and places it when its turn comes.

Nothing ever waits for ever: the turn is polled under a lock taken with a
deadline, not awaited on a ``multiprocessing.Condition``, whose
``notify_all`` waits without a deadline for every waiter to wake, and so
hangs for good once a waiting worker is killed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

PATIENCE = 0.05  # seconds a worker waits for its turn before spilling instead
POLL = 0.0005  # seconds between looks at whose turn it is (a block takes 10-300 ms)
PLACING_PATIENCE = 10.0  # the main process's turn is already there: this is a hang guard

DIRECT_WRITES = hasattr(os, "pwrite")  # not on Windows: there workers spill


@dataclass(frozen=True)
class Placed:
    """Encoded output a worker already wrote into the output file."""

    size: int


class SharedOutput:
    """The output file's next free byte, and whose turn it is to claim it.

    Made by the main process before the workers start (they inherit it, or
    receive it at spawn); ``start`` is where the records begin (after a CSV
    header).
    """

    def __init__(self, context: Any, path: str, start: int) -> None:
        self.path = path
        self.start = start
        self._lock = context.Lock()
        self._next_block = context.RawValue("q", 0)
        self._next_byte = context.RawValue("q", start)
        self._written = context.RawValue("q", 0)  # bytes written, to find holes
        self._fd: int | None = None  # each process opens its own

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None}

    def reserve(self, block: int, size: int, patience: float | None = None) -> int | None:
        """The offset where block ``block``'s ``size`` bytes go, once every
        block before it has reserved; None if that takes longer than
        ``patience`` seconds (default ``PATIENCE``)."""
        patience = PATIENCE if patience is None else patience
        deadline = time.monotonic() + patience
        while True:
            if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return None  # held by a process that died holding it, or just busy
            try:
                if self._next_block.value == block:
                    offset = self._next_byte.value
                    self._next_byte.value = offset + size
                    self._next_block.value = block + 1
                    return offset
            finally:
                self._lock.release()
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL)

    def write(self, block: int, data: bytes, patience: float | None = None) -> bool:
        """Write block ``block``'s output in its place; False (nothing written)
        if its turn did not come within ``patience`` seconds."""
        offset = self.reserve(block, len(data), patience)
        if offset is None:
            return False
        _write_at(self._file(), data, offset)
        self._count(len(data))
        return True

    def place(self, block: int, part: str, size: int) -> None:
        """Copy a spilled part file into block ``block``'s place and delete it
        (the main process, for a worker that did not wait)."""
        offset = self.reserve(block, size, patience=PLACING_PATIENCE)
        if offset is None:  # every block before this one is in place: a bug, or a dead worker
            raise RuntimeError(f"block {block} of the output never got its turn")
        copied = _copy(part, self._file(), offset, size)
        os.unlink(part)
        if copied != size:
            raise OSError(f"{part} held {copied} bytes, not {size}")
        self._count(size)

    @property
    def written(self) -> int:
        """Bytes written so far; once the workers are done, ``end - start``
        unless a reserved block was never written."""
        return self._written.value

    def _count(self, size: int) -> None:
        if not self._lock.acquire(timeout=PLACING_PATIENCE):
            raise RuntimeError("the output's lock is held by a worker that never let go")
        try:
            self._written.value += size
        finally:
            self._lock.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY)
        return self._fd

    @property
    def end(self) -> int:
        """The byte after the last one reserved."""
        return self._next_byte.value

    def finished_at(self) -> int:
        """Where the records end, once the workers are done; an error if a
        reserved block was never written (it would leave a hole of NULs)."""
        reserved = self.end - self.start
        if self.written != reserved:
            raise RuntimeError(f"{reserved} bytes of output reserved, {self.written} written")
        return self.end

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if not written:
            raise OSError(f"could not write at byte {offset} of the output")
        view, offset = view[written:], offset + written


def _copy(part: str, fd: int, offset: int, size: int) -> int:
    """Bytes of ``part`` copied to ``fd`` at ``offset``, in the kernel where it can."""
    copied = 0
    with open(part, "rb") as source:
        copy_range = getattr(os, "copy_file_range", None)
        try:
            while copy_range is not None and copied < size:
                n = copy_range(source.fileno(), fd, size - copied, None, offset + copied)
                if not n:
                    break
                copied += n
        except OSError:  # a file system that cannot
            pass
        source.seek(copied)
        while chunk := source.read(1 << 20):
            _write_at(fd, chunk, offset + copied)
            copied += len(chunk)
    return copied


__all__ = ["DIRECT_WRITES", "PATIENCE", "Placed", "SharedOutput"]
