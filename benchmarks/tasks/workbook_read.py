"""The workbook peer: calamine's read of one sheet into Python values, nothing else (imports calamine alone)."""

from __future__ import annotations

import time

from python_calamine import CalamineWorkbook

from benchmarks.tasks.common import cpu


def calamine_read(path: str, sheet: str) -> dict:
    """Open the workbook and read every cell of ``sheet`` (``to_python``): the floor under any reader
    of an .xlsx export, no strings made, no checks."""
    t0, c0 = time.perf_counter(), cpu()
    rows = CalamineWorkbook.from_path(path).get_sheet_by_name(sheet).to_python()
    t1, c1 = time.perf_counter(), cpu()
    return {"seconds": round(t1 - t0, 4), "cpu_s": round(c1 - c0, 4), "rows": len(rows)}
