"""Progress for long CLI work: what is running, how far along, and the time left.

A thin wrapper over ``rich.progress`` that draws only on an interactive terminal; piped or redirected
output (CI logs, tests) gets nothing from it, so callers can always use it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class Steps:
    """One progress bar: ``advance`` after each finished step, ``running`` names the step under way."""

    def __init__(self, progress: Progress | None, task: TaskID | None, label: str):
        self._progress, self._task, self._label = progress, task, label
        self.done = 0

    def running(self, what: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self._label}: {what}")

    def advance(self, steps: int = 1, what: str | None = None) -> None:
        self.done += steps
        if self._progress is not None:
            self._progress.update(self._task, advance=steps)
            if what:
                self.running(what)

    def total(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


class Reporter:
    """Progress bars for one command; silent (no output at all) unless ``enabled``."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None):
        self.enabled = is_terminal(stream) if enabled is None else enabled
        self._progress: Progress | None = None
        if self.enabled:
            console = Console(file=stream or sys.stdout, force_terminal=True)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> Reporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def steps(self, label: str, total: int | None) -> Iterator[Steps]:
        task = self._progress.add_task(label, total=total) if self._progress is not None else None
        yield Steps(self._progress, task, label)
        if self._progress is not None:
            self._progress.update(task, description=f"{label}: done")

    def print_styled(self, renderable) -> None:
        """Print a rich renderable (styled text) above the bars."""
        if self._progress is not None:
            self._progress.console.print(renderable, highlight=False)
        else:
            print(str(renderable))

    def print(self, *parts) -> None:
        """Print above the bars (or plainly when there are none)."""
        if self._progress is not None:
            self._progress.console.print(*parts, markup=False, highlight=False)
        else:
            print(*parts)


@contextmanager
def progress(enabled: bool | None = None, stream: TextIO | None = None) -> Iterator[Reporter]:
    with Reporter(enabled, stream) as reporter:
        yield reporter
