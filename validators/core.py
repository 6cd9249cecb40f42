"""``validate_file``: one file's harmonised frames through the one path's checks and decision.

Pure: frames in, :class:`ValidationResult` out, no I/O beyond a private in-memory DuckDB.  The frames
become the contract's entity tables (``schema.relations``), the cell issues rows of ``findings``; the
check stages (``validators.stages``) add their findings and the set-wise decision
(``validators.decision``) decides, exactly as ingestion does inside the writer's transaction.
Counting is in *source lines*: a line is rejected when any of its entity rows has an error, and
then every entity row of that line is rejected together (a wide row never half-loads).
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from schema.relations import FINDING_SQL, FINDINGS_TABLE, create_empty, frames_to_tables
from validators.checks import ENTITY_ORDER, append_findings, file_error_finding, missing_columns, normalise, to_issues
from validators.context import ValidationContext
from validators.setwise.context import register_context
from validators.decision import accepted_frames, decide
from validators.registry import RULES
from validators.stages import run_checks
from validators.results import (CELL_ISSUE_COLUMNS, FINDING_IDENTITY, ISSUE_COLUMNS, REJECTED_COLUMNS,
                                ValidationResult, empty_issues, empty_rejected, rule_counts)


def identity_keys(df: pd.DataFrame) -> pd.MultiIndex:
    """One key per finding from :data:`FINDING_IDENTITY` (missing parts compare equal to each other)."""
    return pd.MultiIndex.from_arrays([df[c].astype("object").where(df[c].notna(), "\x00").astype("str")
                                      for c in FINDING_IDENTITY])


def validate_file(frames: dict[str, pd.DataFrame], cell_issues: pd.DataFrame | None,
                  context: ValidationContext) -> ValidationResult:
    """Validate one file's harmonised frames (see the module docstring and ``docs/VALIDATION.md``)."""
    unknown = set(frames) - set(ENTITY_ORDER)
    if unknown:
        raise ValueError(f"unknown entities {sorted(unknown)}; valid: {', '.join(ENTITY_ORDER)}")
    missing = missing_columns(frames, context.file_name)
    norm, dtype_found = {}, []
    for ent in ENTITY_ORDER:
        norm[ent], _, found = normalise(ent, frames.get(ent))
        dtype_found.append(found)
    con = duckdb.connect()
    try:
        frames_to_tables(con, norm)
        create_empty(con, FINDINGS_TABLE, FINDING_SQL)
        if cell_issues is not None and len(cell_issues):
            append_findings(con, cell_issues.reindex(columns=CELL_ISSUE_COLUMNS))
        if missing is not None:
            append_findings(con, file_error_finding(missing))
        dtf = pd.concat(dtype_found, ignore_index=True)
        if len(dtf):
            append_findings(con, to_issues("dtype", dtf, norm).reindex(columns=list(FINDING_SQL)))
        register_context(con, context)
        run_checks(con, context)
        result = decide(con, context)
        if result.file_error is not None:
            accepted = {e: norm[e].iloc[0:0].assign(warnings=pd.Series(dtype="str")) for e in ENTITY_ORDER}
        else:
            accepted = accepted_frames(con)
        return replace(result, accepted=accepted)
    finally:
        con.close()


__all__ = ["ValidationResult", "ValidationContext", "validate_file", "ISSUE_COLUMNS", "REJECTED_COLUMNS",
           "CELL_ISSUE_COLUMNS", "FINDING_IDENTITY", "identity_keys", "rule_counts", "RULES",
           "empty_issues", "empty_rejected"]
