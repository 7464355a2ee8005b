"""The local engine: read in chunks, score on every core, write in input order.

The main process cuts the log into blocks of raw records, writes the rejects
and builds the report; worker processes each hold one engine, parse blocks,
score them and write their output into the output file in input order
(``shared_output.py``; Parquet output comes back to the main process). At
most a few blocks are in flight, so memory stays flat whatever the file
size. With one worker everything runs in this process, row by row.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any, Protocol

from quickphrase.engine import Engine

from .job import BatchJob, BatchSummary, ScorerSpec
from .readers import Block, Source
from .rows import InputError, Reject, Row
from .scoring import Scorer
from .shared_output import DIRECT_WRITES, Placed, SharedOutput
from .writers import RecordWriter, RejectWriter, Spilled, encode


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk's results as they travel back from a worker: the output already
    encoded, the rejects, and the records themselves only if a report wants them."""

    encoded: Any
    scored: int
    rejects: list[dict[str, Any]]
    records: list[dict[str, Any]] | None


def score_chunk(scorer: Scorer, rows: list[Row | Reject], fmt: str, keep: bool) -> ScoredChunk:
    results = scorer.score(rows)
    records = [r for r in results if not isinstance(r, Reject)]
    rejects = [r.to_dict() for r in results if isinstance(r, Reject)]
    return ScoredChunk(encode(fmt, records), len(records), rejects, records if keep else None)


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def update(self, done: int, lines: int) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def update(self, done: int, lines: int) -> None:
        pass

    def stop(self) -> None:
        pass


_scorer: Scorer | None = None  # one per worker process, built by _start_worker
_output: SharedOutput | None = None  # the output file, where workers write in turn
_parent_engine: Engine | None = None  # what forked workers inherit


def _start_worker(spec: ScorerSpec, output: SharedOutput | None) -> None:
    global _scorer, _output
    _scorer = spec.build(_parent_engine)
    _output = output


def _score_in_worker(
    number: int, rows: list[Row | Reject] | Block, fmt: str, keep: bool, spill: str | None
) -> ScoredChunk:
    assert _scorer is not None, "worker started without its scorer"
    chunk = score_chunk(_scorer, _rows_of(rows), fmt, keep)
    if spill is None or not isinstance(chunk.encoded, bytes):
        return chunk
    # A chat line's output is about a kilobyte; through the pool's pipe and
    # pickle, the reading process would spend its time copying it.
    if _output is not None and _output.write(number, chunk.encoded):
        return replace(chunk, encoded=Placed(len(chunk.encoded)))
    fd, path = tempfile.mkstemp(dir=spill, suffix=".part")
    with os.fdopen(fd, "wb") as part:
        part.write(chunk.encoded)
    return replace(chunk, encoded=Spilled(path, len(chunk.encoded)))


def _rows_of(piece: list[Row | Reject] | Block) -> list[Row | Reject]:
    return piece.rows() if isinstance(piece, Block) else piece


def _chunks(records: Iterator[Row | Reject], size: int) -> Iterator[list[Row | Reject]]:
    while chunk := list(islice(records, size)):
        yield chunk


class _Workers:
    """Scores chunks in order: in this process, or on a pool of workers.

    Where fork exists the workers are forked from a process that has loaded
    the engine, so they share its memory and start at once; elsewhere they
    are spawned and load their own.
    """

    def __init__(
        self, job: BatchJob, engine: Engine | None, writer: RecordWriter | None = None
    ) -> None:
        """With ``writer`` (a JSONL or CSV one, where ``os.pwrite`` exists),
        workers write their output into its file themselves."""
        self._job = job
        self._pool: ProcessPoolExecutor | None = None
        self.output: SharedOutput | None = None
        if job.workers <= 1:
            self._scorer = job.scorer.build(engine)
            return
        global _parent_engine
        forking = "fork" in multiprocessing.get_all_start_methods()
        _parent_engine = (engine or job.scorer.engine.build()) if forking else None
        context = multiprocessing.get_context("fork" if forking else "spawn")
        if writer is not None and writer.format != "parquet" and DIRECT_WRITES:
            self.output = SharedOutput(context, *writer.hand_over())
        if forking:
            # Frozen before the fork, what is loaded (the engine) is never
            # walked by the workers' cyclic collections, nor its pages copied.
            gc.freeze()
        try:
            self._pool = ProcessPoolExecutor(
                job.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(job.scorer, self.output),
            )
            # Start every worker now, before this process starts threads of
            # its own (the progress bar): forking copies no running threads then.
            wait([self._pool.submit(int) for _ in range(job.workers)])
        finally:
            gc.unfreeze()  # this process may live on (a library caller)
        _parent_engine = None

    def score(
        self,
        chunks: Iterable[list[Row | Reject] | Block],
        fmt: str,
        keep: bool,
        spill: str | None = None,
    ) -> Iterator[ScoredChunk]:
        """Score chunks of rows, or blocks that workers parse, in order.

        With ``spill`` (a directory), workers leave encoded output there as
        ``Spilled`` files instead of sending it back; with ``self.output``
        too, they write it into the output file and the chunks come back
        ``Placed`` (spilled ones are placed here).
        """
        if self._pool is None:
            for chunk in chunks:
                yield score_chunk(self._scorer, _rows_of(chunk), fmt, keep)
            return
        in_flight: deque[tuple[int, Future[ScoredChunk]]] = deque()
        for number, chunk in enumerate(chunks):
            future = self._pool.submit(_score_in_worker, number, chunk, fmt, keep, spill)
            in_flight.append((number, future))
            if len(in_flight) >= 2 * self._job.workers + 1:
                yield self._placed(*in_flight.popleft())
        while in_flight:
            yield self._placed(*in_flight.popleft())

    def _placed(self, number: int, future: Future[ScoredChunk]) -> ScoredChunk:
        chunk = future.result()
        if self.output is None or not isinstance(chunk.encoded, Spilled):
            return chunk
        self.output.place(number, chunk.encoded.path, chunk.encoded.size)
        return replace(chunk, encoded=Placed(chunk.encoded.size))

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self.output is not None:
            self.output.close()


def _check_paths(job: BatchJob) -> None:
    """Refuse to write over the input (a rejects file named like it, say)."""
    source = Path(job.input).resolve()
    targets = {"OUTPUT": job.output, "the rejects file": job.rejects, "the report": job.report}
    for name, target in targets.items():
        if target is not None and Path(target).resolve() == source:
            raise InputError(f"{name} would overwrite the input {job.input}")
    if Path(job.rejects).resolve() == Path(job.output).resolve():
        raise InputError("OUTPUT and the rejects file are the same file")


def run_local(
    job: BatchJob, progress: Progress | None = None, engine: Engine | None = None
) -> BatchSummary:
    """Score ``job.input`` into ``job.output`` (and the rejects and report files).

    ``engine``, if given, is used instead of loading one (with several
    workers, where processes fork, they share it).
    """
    progress = progress or NoProgress()
    started = time.perf_counter()
    report = None
    if job.report:
        from .report import ReportBuilder  # matplotlib and scikit-learn: only when asked

        report = ReportBuilder()
    _check_paths(job)
    with Source(
        job.input,
        fmt=job.input_format,
        encoding=job.encoding,
        columns=job.columns,
        required=job.required,
    ) as source:
        # With workers, the reader only cuts the file into blocks of raw
        # records and each worker parses its own: parsing in this process
        # would cap the whole run at one core. The first block (or record)
        # proves the columns before any file is made.
        if job.workers > 1 and source.splittable:
            pieces: Iterator[Any] = source.blocks(job.block_bytes)
        else:
            pieces = _chunks(iter(source), job.chunk_rows)
        first = list(islice(pieces, 1))
        rejects = RejectWriter(job.rejects)
        try:
            writer = RecordWriter(job.output)
        except BaseException:
            rejects.abort()
            raise
        lines = scored = 0
        spill = None
        try:
            workers = _Workers(job, engine, writer)
            try:
                if workers.parallel and writer.format != "parquet":
                    spill = tempfile.mkdtemp(prefix=".quickphrase-spill-", dir=writer.path.parent)
                progress.start(source.total)
                scoring = workers.score(chain(first, pieces), writer.format, bool(report), spill)
                for chunk in scoring:
                    writer.write_encoded(chunk.encoded)
                    rejects.write(chunk.rejects)
                    if report is not None and chunk.records is not None:
                        for record in chunk.records:
                            report.add(record)
                    lines += chunk.scored + len(chunk.rejects)
                    scored += chunk.scored
                    progress.update(source.done, lines)
                if workers.output is not None:
                    writer.take_back(workers.output.finished_at())
            finally:
                workers.close()
                progress.stop()
                if spill is not None:
                    shutil.rmtree(spill, ignore_errors=True)
        except BaseException:
            writer.abort()
            rejects.abort()
            raise
        writer.close()
        rejects.close()
    summary = BatchSummary(
        source=str(job.input),
        lines_read=lines,
        scored=scored,
        rejected=rejects.count,
        seconds=time.perf_counter() - started,
    )
    if report is not None and job.report is not None:
        report.write(job.report, summary)
    return summary
