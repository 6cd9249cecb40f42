"""Stage 3 (``validators.dictionary_checks.schema_findings_sql``) on harmonised frames put into DuckDB
with ``schema.relations.frames_to_tables``, checked against the findings recorded from the pandas path
(pandera.pandas + the rule mapping of the deleted ``validators.checks.schema_findings``, without its
``unit_mixup`` findings, which are stage 4's; ``tests/validators/recorded.py``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from schema.relations import FINDING_SQL, frames_to_tables
from tests.validators.recorded import COMPARED, assert_recorded
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
    assert_recorded(STORE, case, sql)
    return sql
