"""Workers write their blocks straight into the output file, in input order
(``service/batch/shared_output.py``), and a block that cannot wait is placed
by the main process instead."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

from quickphrase.engine import Engine
from quickphrase.service.batch import local, shared_output
from quickphrase.service.batch.job import BatchJob
from quickphrase.service.batch.local import run_local
from quickphrase.service.batch.readers import Source
from quickphrase.service.batch.shared_output import SharedOutput

from .chatlogs import write_log

CONTEXT = multiprocessing.get_context()


def output_file(tmp_path: Path, header: bytes = b"H\n") -> tuple[Path, SharedOutput]:
    path = tmp_path / "out.partial"
    path.write_bytes(header)
    return path, SharedOutput(CONTEXT, str(path), len(header))


def block_bytes(number: int) -> bytes:
    return f"block {number}\n".encode() * (number + 1)


def test_blocks_that_finish_out_of_order_land_in_input_order(tmp_path: Path) -> None:
    path, output = output_file(tmp_path)
    written: dict[int, bool] = {}

    def finish(number: int) -> None:
        time.sleep(random.uniform(0, 0.02))
        written[number] = output.write(number, block_bytes(number), patience=5.0)

    threads = [threading.Thread(target=finish, args=(n,)) for n in reversed(range(8))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    output.close()
    assert written == {n: True for n in range(8)}
    expected = b"H\n" + b"".join(block_bytes(n) for n in range(8))
    assert path.read_bytes() == expected
    assert output.end == len(expected)


def test_a_block_whose_turn_does_not_come_gives_up_and_is_placed_later(tmp_path: Path) -> None:
    path, output = output_file(tmp_path)
    started = time.monotonic()
    assert output.write(1, block_bytes(1), patience=0.05) is False  # block 0 is not done
    assert time.monotonic() - started >= 0.05
    assert path.read_bytes() == b"H\n"  # nothing written, nothing reserved

    part = tmp_path / "1.part"
    part.write_bytes(block_bytes(1))
    assert output.write(0, block_bytes(0))
    output.place(1, str(part), len(block_bytes(1)))
    assert output.write(2, block_bytes(2))
    output.close()
    assert path.read_bytes() == b"H\n" + block_bytes(0) + block_bytes(1) + block_bytes(2)
    assert not part.exists()


def test_placing_a_block_out_of_turn_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_output, "PLACING_PATIENCE", 0.05)
    _, output = output_file(tmp_path)
    part = tmp_path / "1.part"
    part.write_bytes(b"x")
    with pytest.raises(RuntimeError, match="block 1 of the output never got its turn"):
        output.place(1, str(part), 1)


def test_a_part_file_shorter_than_promised_is_an_error(tmp_path: Path) -> None:
    _, output = output_file(tmp_path)
    part = tmp_path / "0.part"
    part.write_bytes(b"{}\n")
    with pytest.raises(OSError, match="held 3 bytes, not 10"):
        output.place(0, str(part), 10)


def test_a_block_reserved_and_never_written_is_an_error_not_a_hole(tmp_path: Path) -> None:
    _, output = output_file(tmp_path)
    assert output.reserve(0, 10) == 2
    assert output.write(1, b"after\n")
    with pytest.raises(RuntimeError, match="16 bytes of output reserved, 6 written"):
        output.finished_at()


def kill_while(action: str, output: SharedOutput) -> None:
    """Start a process that waits for block 1's turn (``wait``) or holds the
    lock (``hold``), and SIGKILL it there."""
    context = multiprocessing.get_context("fork")

    def child() -> None:
        if action == "wait":
            output.reserve(1, 5, patience=30.0)
        else:
            output._lock.acquire()
            time.sleep(30)

    process = context.Process(target=child)
    process.start()
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.join()


def finishes(target: object, seconds: float = 5.0) -> bool:
    """Whether ``target()`` returns within ``seconds`` (run in a forked
    process, so a hang fails the test instead of stopping the suite)."""
    process = multiprocessing.get_context("fork").Process(target=target)
    process.start()
    process.join(seconds)
    if process.is_alive():
        process.kill()
        return False
    return process.exitcode == 0


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_worker_killed_while_waiting_for_its_turn_hangs_nobody(tmp_path: Path) -> None:
    path, output = output_file(tmp_path)
    kill_while("wait", output)

    def write_block_zero() -> None:
        assert output.write(0, b"zero\n")

    assert finishes(write_block_zero)
    assert path.read_bytes() == b"H\nzero\n"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_worker_killed_holding_the_lock_makes_the_others_give_up_not_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_output, "PLACING_PATIENCE", 0.2)
    _, output = output_file(tmp_path)
    kill_while("hold", output)
    part = tmp_path / "0.part"
    part.write_bytes(b"x")

    def try_both() -> None:
        assert output.write(0, b"zero\n", patience=0.1) is False  # spills instead
        with pytest.raises(RuntimeError, match="never got its turn"):
            output.place(0, str(part), 1)

    assert finishes(try_both)


# --- in a real run -----------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


LOG = [
    {"text": "亲这个能便宜点吗", "role": "buyer"},
    {"text": "亲,明天肯定能到的,放心", "role": "agent", "agent_id": "a1"},
    {"text": "", "role": "buyer"},  # rejected: no text
    {"text": "几号发货呀\n急用", "role": "buyer"},
    {"text": "可以开发票吗", "role": "buyer"},
]


def both_ways(tmp_path: Path, engine: Engine, name: str) -> tuple[bytes, bytes]:
    """The output of one worker and of two, on 60 blocks of the log."""
    source = write_log(tmp_path / "log.csv", LOG * 120)
    written = []
    for workers in (1, 2):
        out = tmp_path / f"{workers}" / name
        job = BatchJob(
            input=source, output=out, rejects=out.with_suffix(".rejects"), workers=workers,
            block_bytes=BLOCK,
        )
        run_local(job, engine=engine)
        assert sorted(p.name for p in out.parent.iterdir()) == sorted([name, "out.rejects"])
        written.append(out.read_bytes())
    return written[0], written[1]


BLOCK = 300


def blocks_in(tmp_path: Path) -> int:
    with Source(tmp_path / "log.csv") as source:
        return sum(1 for _ in source.blocks(BLOCK))


@pytest.fixture
def placed_by_main(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The blocks the main process places (the rest the workers wrote)."""
    placed: list[int] = []
    real_place = SharedOutput.place

    def place(self: SharedOutput, block: int, part: str, size: int) -> None:
        placed.append(block)
        real_place(self, block, part, size)

    monkeypatch.setattr(SharedOutput, "place", place)
    return placed


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv"])
def test_blocks_that_never_wait_are_placed_by_the_main_process(
    tmp_path: Path,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    placed_by_main: list[int],
    name: str,
) -> None:
    # Forked workers inherit the patch: a block that does not find its turn
    # at once spills, and the main process places it.
    monkeypatch.setattr(shared_output, "PATIENCE", 0.0)
    one, two = both_ways(tmp_path, engine, name)
    assert two == one
    assert 0 < len(placed_by_main) < blocks_in(tmp_path)  # both paths ran


def test_with_direct_writes_off_every_block_goes_through_a_part_file(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, placed_by_main: list[int]
) -> None:
    monkeypatch.setattr(SharedOutput, "write", lambda *_args, **_kw: False)
    one, two = both_ways(tmp_path, engine, "out.jsonl")
    assert two == one
    assert placed_by_main == list(range(blocks_in(tmp_path)))


def test_without_pwrite_the_workers_spill_and_the_writer_copies(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, placed_by_main: list[int]
) -> None:
    monkeypatch.setattr(local, "DIRECT_WRITES", False)  # Windows
    one, two = both_ways(tmp_path, engine, "out.jsonl")
    assert two == one
    assert placed_by_main == []  # no shared output: the writer copies the parts in


@pytest.mark.skipif(
    "spawn" not in multiprocessing.get_all_start_methods(), reason="no spawn start method"
)
def test_spawned_workers_write_in_turn_too(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, placed_by_main: list[int]
) -> None:
    # macOS and Windows spawn: the workers load their own engine and receive
    # the shared output when they start.
    monkeypatch.setattr(local.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    one, two = both_ways(tmp_path, engine, "out.jsonl")
    assert two == one
    assert len(placed_by_main) < blocks_in(tmp_path)  # the workers wrote blocks themselves
