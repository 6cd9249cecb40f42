"""Both executions of the dictionary's pandera declaration on the same harmonised frames.

``pandas``: today's path (``validators.core.schema_issues``: pandera.pandas + the rule mapping);
``sql``: the one path's stage 3 (``validators.dictionary_checks.schema_findings_sql`` on the frames put
into DuckDB with ``schema.relations.frames_to_tables``).  Both as sorted frames of the compared columns.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from schema.relations import FINDING_SQL, frames_to_tables
from validators.context import ValidationContext
from validators.checks import schema_issues
from validators.dictionary_checks import schema_findings_sql

COMPARED = ["source_line", "entity", "patient_id", "record", "column_name", "value", "rule", "severity",
            "message", "expected", "fix"]


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: df[c].astype("object").where(df[c].notna(), None) for c in COMPARED})
    out["source_line"] = out["source_line"].map(lambda x: None if x is None else int(x))
    key = out.astype("str")
    return out.loc[key.sort_values(COMPARED).index].reset_index(drop=True)


def both(frames: dict[str, pd.DataFrame], ctx: ValidationContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pandas findings, SQL findings) of ``frames``."""
    con = duckdb.connect()
    try:
        frames_to_tables(con, frames)
        schema_findings_sql(con, ctx)
        sql = con.execute(f"SELECT {', '.join(FINDING_SQL)} FROM findings").df()
    finally:
        con.close()
    return _tidy(schema_issues(frames, ctx)), _tidy(sql)


def differences(frames: dict[str, pd.DataFrame], ctx: ValidationContext) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(pandas, sql, a readable list of the rows only one side has; '' when both agree)."""
    pd_f, sql_f = both(frames, ctx)
    a, b = pd_f.astype("str"), sql_f.astype("str")
    m = a.merge(b, how="outer", indicator=True)
    only = m[m["_merge"] != "both"]
    return pd_f, sql_f, "" if not len(only) else only.to_string()
