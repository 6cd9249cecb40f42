"""Retry policy shared by the flows: retry only transient errors (a busy warehouse), never bad input."""

from __future__ import annotations

from base.errors import TdmError


def only_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: True when the task failed with a transient ``TdmError``."""
    try:
        state.result()
    except TdmError as exc:
        return exc.transient
    except Exception:
        return False
    return False
