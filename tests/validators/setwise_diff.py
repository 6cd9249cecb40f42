"""The set-wise rules (``validators.setwise``: the whole-file checks and the row rules) on harmonised
frames, checked against the findings recorded from the pandas rules (``tests/validators/recorded.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from schema.relations import frames_to_tables
from tests.validators.recorded import COMPARED, assert_recorded
from validators.checks import _name_lab_columns, normalise, schema_findings, to_issues
from validators.results import ISSUE_COLUMNS
from validators.registry import RULES
from validators.rules import ENTITY_ORDER, ROW_RULES
from validators.setwise import file_findings, rule_findings
from validators.units import column_mixups

STORE = Path(__file__).with_name("expected_setwise.json")


def normalised(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {e: normalise(e, frames.get(e))[0] for e in ENTITY_ORDER}


def pandas_findings(frames: dict[str, pd.DataFrame], ctx) -> pd.DataFrame:
    """The findings of ``validators.rules.ROW_RULES``, the ``unit_mixup`` findings of the dictionary
    checks and the ``unit_profile_suspect`` file error, as ``validate_file`` reports them."""
    norm = normalised(frames)
    parts = [to_issues(rule, fn(norm, ctx), norm) for rule, fn in ROW_RULES.items()]
    for ent in ENTITY_ORDER:
        if len(norm[ent]):
            mix = schema_findings(ent, norm[ent], ctx).get("unit_mixup")
            if mix is not None:
                parts.append(to_issues("unit_mixup", mix, norm))
    parts = [p for p in parts if len(p)]
    rule = RULES["unit_profile_suspect"]
    found = column_mixups(norm, ctx.unit_reference)
    suspect = pd.DataFrame([{"source_line": None, "entity": None, "patient_id": None, "record": None,
                             "column_name": found[0].column, "value": None, "rule": rule.name,
                             "severity": rule.severity, "message": "; ".join(m.message for m in found),
                             "expected": None, "fix": rule.fix}] if found else [], columns=ISSUE_COLUMNS)
    if not parts:
        return suspect if len(suspect) else pd.DataFrame({c: pd.Series(dtype="object") for c in COMPARED})
    issues = _name_lab_columns(pd.concat(parts, ignore_index=True), norm["lab"])[ISSUE_COLUMNS]
    return pd.concat([issues, suspect], ignore_index=True) if len(suspect) else issues


def sql_findings(frames: dict[str, pd.DataFrame], ctx, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The set-wise rules' ``findings`` for the same frames (in the contract's tables): the whole-file
    checks and every row rule (both, even when the file is rejected, to compare every rule)."""
    con = con or duckdb.connect()
    frames_to_tables(con, normalised(frames))
    con.execute("DROP TABLE IF EXISTS findings")
    rule_findings(con, ctx)
    file_findings(con, ctx)
    return con.execute("SELECT * FROM findings").df()


def check_recorded(case: str, frames: dict[str, pd.DataFrame], ctx) -> pd.DataFrame:
    """The set-wise findings of ``frames``, asserted equal to the recording of ``case``."""
    sql = sql_findings(frames, ctx)
    if os.environ.get("TDM_RECORD_FROM_PANDAS") == "1":
        assert_recorded(STORE, case, pandas_findings(frames, ctx))
    else:
        assert_recorded(STORE, case, sql)
    return sql
