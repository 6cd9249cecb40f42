"""Progress for long commands: a rich progress bar on a terminal, one plain line per step otherwise
(cron mails, log files and CI read lines, not redrawn bars)."""

from __future__ import annotations

import contextlib
import sys
import threading

from base.runtime import observe_files, observe_steps


def interactive() -> bool:
    return sys.stderr.isatty()


class Steps:
    """Named steps of a long command (``synth``, ``analyse``, the files of ``ingest``)."""

    def __init__(self, title: str, total: int | None, *, unit: str = "step") -> None:
        self.title, self.total, self.unit = title, total, unit
        self._lock = threading.Lock()
        self._progress = None
        self._task = None

    def __enter__(self) -> "Steps":
        if interactive():
            # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("{task.fields[last]}"),
                                      console=Console(stderr=True), transient=False)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=self.total, last="")
        return self

    def done(self, text: str) -> None:
        """One step finished: advance the bar (terminal) or print one line (stderr otherwise)."""
        with self._lock:
            if self._progress is not None:
                self._progress.update(self._task, advance=1, last=text)
            else:
                print(text, file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextlib.contextmanager
def file_progress(total: int):
    """Progress of an ingestion pass: one step per file with its lines per second."""
    with Steps("ingesting", total, unit="file") as steps:
        def on_file(centre_id, file_name, status, rows_read, seconds):
            rate = f", {rows_read / seconds:,.0f} lines/s" if seconds > 0 and rows_read else ""
            steps.done(f"{centre_id}/{file_name}: {status}, {rows_read} line(s) in {seconds:.1f} s{rate}")

        with observe_files(on_file):
            yield steps


@contextlib.contextmanager
def step_progress(title: str):
    """Progress of a publication: one step per analysis (table, figure, bootstrap)."""
    with Steps(title, None) as steps:
        def on_step(name, outcome, seconds):
            steps.done(f"{name}: {outcome} ({seconds:.1f} s)")

        with observe_steps(on_step):
            yield steps
