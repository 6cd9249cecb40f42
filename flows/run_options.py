"""What every tdm flow and task declares to Prefect about results: none are persisted.

A flow's return value (the pass or publication summary) goes to its caller in the same process;
the warehouse, the reports and the artifacts are the record.  Persisting results would pickle every
task's return under ``PREFECT_HOME/storage``, hash each task's inputs (settings, profile, key) for a
cache key, and ask the server twice per flow run for its default result storage (``/admin/storage``,
~60 ms each): work a one-shot pass does not need (issue 14, measured by counting the requests).
The explicit local ``result_storage`` is what lets Prefect skip those two requests; with
``persist_result=False`` nothing is ever written to it.
"""

from __future__ import annotations

from prefect.settings import get_current_settings

# a Path (not a block: a block must be saved on the server first) resolves locally, with no request
FLOW_OPTIONS = {"persist_result": False, "result_storage": get_current_settings().results.local_storage_path}
TASK_OPTIONS = {"persist_result": False}

__all__ = ["FLOW_OPTIONS", "TASK_OPTIONS"]
