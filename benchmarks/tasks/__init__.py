"""The measured functions; each runs in a fresh interpreter through :mod:`benchmarks.worker`.

Every function returns a dict of plain values (seconds, counts, flags); the worker adds peak RSS.
Tasks are grouped by what they import: the worker imports only the task's module (its imports are
the warm-up; the baseline RSS is taken after them), so a DuckDB peer never carries pandas.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

#: task name -> the module of this package that defines it
MODULES = {
    "ingest_whole": "ingest", "validate_backends": "validation",
    "duckdb_load": "duckdb_read", "duckdb_normalising_load": "duckdb_normalise", "calamine_read": "workbook_read",
    "analysis_python": "analysis",
    "publication_demo": "prefect_runs", "e2e_latency": "prefect_runs",
}


def task_function(task: str) -> Callable[..., dict]:
    """The function of ``task``, its module imported (and nothing else)."""
    if task not in MODULES:
        raise KeyError(f"unknown benchmark task {task!r}; known: {', '.join(MODULES)}")
    return getattr(importlib.import_module(f"benchmarks.tasks.{MODULES[task]}"), task)


__all__ = ["MODULES", "task_function"]
