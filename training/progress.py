"""Progress reporting for long steps, without tying the pipeline to a terminal.

The pipeline opens a task per step (``with progress.task("fitting", total=None) as advance``)
and calls ``advance(n)`` as work completes; the CLI passes a :class:`RichProgress` that draws
bars, tests and libraries get :class:`Progress`, which draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress as RichBars,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

Advance = Callable[[int], None]


class Progress:
    """Draws nothing; the interface the pipeline reports through."""

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        """A step of ``total`` units (None: unknown length); yields ``advance(n)``."""
        yield lambda n=1: None


NO_PROGRESS = Progress()


class RichProgress(Progress):
    """Rich progress bars on ``console`` (stderr in the CLI, so stdout stays parseable)."""

    def __init__(self, console: Console) -> None:
        self._bars = RichBars(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False,
        )

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        task_id = self._bars.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            self._bars.advance(task_id, n)

        yield advance
        self._bars.update(task_id, total=total or 1, completed=total or 1)
