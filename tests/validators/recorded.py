"""Findings recorded from the pandas reference (the former pandas rules + pandera on pandas, deleted in
issue 15 once the set-wise stages replaced them), against which the set-wise stages are checked.

``TDM_RECORD_EXPECTATIONS=1`` rewrites a case from the code under test: only for a deliberate fix,
named in the commit and docs/ONE_PATH.md, as for ``tests/columnar/expected_one_path.json``.  Each
case is stored as its number of findings, a digest of all of them and the first 60 in full, so a
difference in any row fails and the head shows it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

COMPARED = ["source_line", "entity", "patient_id", "record", "column_name", "value", "rule", "severity", "message",
            "expected", "fix"]
HEAD = 60


def as_rows(df: pd.DataFrame) -> list[list]:
    """Findings as sorted rows of text (None for missing): an order-free, exact comparison."""
    if not len(df):
        return []
    out = df[COMPARED].astype("object")
    out = out.where(out.notna(), None)
    rows = [[None if v is None else str(int(v)) if c == "source_line" else str(v) for c, v in zip(COMPARED, r)]
            for r in out.itertuples(index=False)]
    return sorted(rows, key=lambda t: tuple("" if v is None else v for v in t))


def _canonical(rows: list[list]) -> dict:
    text = json.dumps(rows, ensure_ascii=False)
    return {"rows": len(rows), "sha256": hashlib.sha256(text.encode()).hexdigest(), "head": rows[:HEAD]}


def assert_recorded(store: Path, case: str, found: pd.DataFrame) -> None:
    """``found`` (findings in ``COMPARED`` columns) equals the recording of ``case`` in ``store``."""
    got = _canonical(as_rows(found))
    if os.environ.get("TDM_RECORD_EXPECTATIONS") == "1":
        data = json.loads(store.read_text()) if store.exists() else {}
        data[case] = got
        store.write_text(json.dumps(data, indent=0, ensure_ascii=False, sort_keys=True) + "\n")
        return
    want = json.loads(store.read_text())[case]
    assert got["head"] == want["head"], f"{case}: the findings differ from the recorded reference"
    assert (got["rows"], got["sha256"]) == (want["rows"], want["sha256"]), \
        f"{case}: the findings differ from the recorded reference ({got['rows']} found, {want['rows']} recorded)"
