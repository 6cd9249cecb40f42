"""Differential harness: today's pandas rules (``validators.rules`` through ``validate_file``'s rule
part) against the set-wise SQL rules (``validators.setwise``) on the same harmonised frames."""

from __future__ import annotations

import duckdb
import pandas as pd

from schema.relations import frames_to_tables
from validators.checks import _name_lab_columns, normalise, schema_findings, to_issues
from validators.results import ISSUE_COLUMNS
from validators.registry import RULES
from validators.rules import ENTITY_ORDER, ROW_RULES
from validators.setwise import rule_findings
from validators.units import column_mixups

COMPARED = ["source_line", "entity", "patient_id", "record", "column_name", "value", "rule", "severity", "message",
            "expected", "fix"]


def normalised(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {e: normalise(e, frames.get(e))[0] for e in ENTITY_ORDER}


def pandas_findings(frames: dict[str, pd.DataFrame], ctx) -> pd.DataFrame:
    """The findings of ``validators.rules.ROW_RULES``, the ``unit_mixup`` findings of the dictionary
    checks and the ``unit_profile_suspect`` columns, as ``validate_file`` reports them."""
    norm = normalised(frames)
    parts = [to_issues(rule, fn(norm, ctx), norm) for rule, fn in ROW_RULES.items()]
    for ent in ENTITY_ORDER:
        if len(norm[ent]):
            mix = schema_findings(ent, norm[ent], ctx).get("unit_mixup")
            if mix is not None:
                parts.append(to_issues("unit_mixup", mix, norm))
    parts = [p for p in parts if len(p)]
    rule = RULES["unit_profile_suspect"]
    suspect = pd.DataFrame([{"source_line": None, "entity": m.entity, "patient_id": None, "record": None,
                             "column_name": m.column, "value": None, "rule": rule.name, "severity": rule.severity,
                             "message": m.message, "expected": None, "fix": rule.fix}
                            for m in column_mixups(norm, ctx.unit_reference)], columns=ISSUE_COLUMNS)
    if not parts:
        return suspect if len(suspect) else pd.DataFrame({c: pd.Series(dtype="object") for c in COMPARED})
    issues = _name_lab_columns(pd.concat(parts, ignore_index=True), norm["lab"])[ISSUE_COLUMNS]
    return pd.concat([issues, suspect], ignore_index=True) if len(suspect) else issues


def sql_findings(frames: dict[str, pd.DataFrame], ctx, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The set-wise rules' ``findings`` for the same frames (in the contract's tables)."""
    con = con or duckdb.connect()
    frames_to_tables(con, normalised(frames))
    con.execute("DROP TABLE IF EXISTS findings")
    rule_findings(con, ctx)
    return con.execute("SELECT * FROM findings").df()


def as_rows(df: pd.DataFrame) -> list[tuple]:
    """Findings as sorted tuples of text (None for missing), for an order-free comparison."""
    if not len(df):
        return []
    out = df[COMPARED].astype("object")
    out = out.where(out.notna(), None)
    rows = [tuple(None if v is None else str(int(v)) if c == "source_line" else str(v) for c, v in zip(COMPARED, r))
            for r in out.itertuples(index=False)]
    return sorted(rows, key=lambda t: tuple("" if v is None else v for v in t))


def differences(frames: dict[str, pd.DataFrame], ctx) -> tuple[list[tuple], list[tuple], int]:
    """(only pandas, only SQL, number of pandas findings)."""
    p, s = as_rows(pandas_findings(frames, ctx)), as_rows(sql_findings(frames, ctx))
    only_p = [r for r in p if r not in s]
    only_s = [r for r in s if r not in p]
    return only_p, only_s, len(p)
