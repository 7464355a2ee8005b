"""A progress bar for long batch runs: share done, lines/s and time left."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class BarProgress:
    """rich's progress bar on stderr; silent when stderr is not a terminal.

    The bar advances by bytes read (or rows, for Parquet), which is what makes
    the time left knowable before the end of the file; the rate shown is
    lines per second.
    """

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._bar = Progress(
            TextColumn("scoring"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[lines]:>12,} lines"),
            TextColumn("{task.fields[rate]:>8,.0f} lines/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self._console,
            disable=not self._console.is_terminal,
            transient=False,
        )
        self._task = self._bar.add_task("scoring", total=None, lines=0, rate=0.0)
        self._started = 0.0

    def start(self, total: int) -> None:
        self._started = time.perf_counter()
        self._bar.update(self._task, total=max(total, 1))
        self._bar.start()

    def update(self, done: int, lines: int) -> None:
        elapsed = time.perf_counter() - self._started
        rate = lines / elapsed if elapsed > 0 else 0.0
        self._bar.update(self._task, completed=done, lines=lines, rate=rate)

    def stop(self) -> None:
        self._bar.stop()
