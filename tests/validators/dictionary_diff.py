"""Stage 3 (``validators.dictionary_checks.schema_findings_sql``) on harmonised frames put into DuckDB
with ``schema.relations.frames_to_tables``, checked against the findings recorded from the pandas path
(pandera.pandas + the rule mapping, ``tests/validators/recorded.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from schema.relations import FINDING_SQL, frames_to_tables
from tests.validators.recorded import COMPARED, assert_recorded
from validators.checks import schema_issues
from validators.context import ValidationContext
from validators.dictionary_checks import schema_findings_sql

STORE = Path(__file__).with_name("expected_dictionary_checks.json")


def sql_findings(frames: dict[str, pd.DataFrame], ctx: ValidationContext) -> pd.DataFrame:
    """Stage 3's findings of ``frames``."""
    con = duckdb.connect()
    try:
        frames_to_tables(con, frames)
        schema_findings_sql(con, ctx)
        return con.execute(f"SELECT {', '.join(FINDING_SQL)} FROM findings").df()
    finally:
        con.close()


def check_recorded(case: str, frames: dict[str, pd.DataFrame], ctx: ValidationContext) -> pd.DataFrame:
    """Stage 3's findings of ``frames`` (``COMPARED`` columns), asserted equal to the recording of ``case``."""
    sql = sql_findings(frames, ctx)[COMPARED]
    if os.environ.get("TDM_RECORD_FROM_PANDAS") == "1":
        ref = schema_issues(frames, ctx)
        assert_recorded(STORE, case, ref[ref["rule"] != "unit_mixup"])   # a unit mix-up is stage 4's now
    else:
        assert_recorded(STORE, case, sql)
    return sql
