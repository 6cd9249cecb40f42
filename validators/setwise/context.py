"""The warehouse context of the set-wise rules as temporary tables, built from a ValidationContext.

Each table holds exactly what the rules read, already scoped to the file's centre (what
``ingestion.load_context`` selects from ``core.*``; inside the writer transaction the same tables
can be filled straight from ``core.*`` with these columns):

``ctx_known``    this centre's current baseline patients: ``patient_id`` and the dates the
                 cross-file date rules need (NULL when the context does not carry them)
``ctx_other``    patients registered by other centres: ``centre_id, patient_id``
``ctx_assess``   this centre's current assessments: ``patient_id, colonoscopy_date, infusion_date``
``ctx_units``    the study's values per unit-checked variable: ``variable, median, n``
``ctx_reviews``  this centre's confirmed findings (:data:`validators.core.FINDING_IDENTITY`)
"""

from __future__ import annotations

import duckdb
import pandas as pd

from schema.relations import create_empty, insert_cast
from validators.context import ValidationContext

#: table -> column -> DuckDB type (the contract of the context tables).
CONTEXT_SQL: dict[str, dict[str, str]] = {
    "ctx_known": {"patient_id": "VARCHAR", "birth_date": "DATE", "diagnosis_date": "DATE",
                  "ifx_start_date": "DATE"},
    "ctx_other": {"centre_id": "VARCHAR", "patient_id": "VARCHAR"},
    "ctx_assess": {"patient_id": "VARCHAR", "colonoscopy_date": "DATE", "infusion_date": "DATE"},
    "ctx_units": {"variable": "VARCHAR", "median": "DOUBLE", "n": "BIGINT"},
    "ctx_reviews": {"entity": "VARCHAR", "patient_id": "VARCHAR", "record": "VARCHAR", "rule": "VARCHAR",
                    "column_name": "VARCHAR", "value": "VARCHAR"},
}


def _scoped(df: pd.DataFrame, centre_id: str, same: bool) -> pd.DataFrame:
    """Rows of this centre (``same``) or of the others; a frame without ``centre_id`` is all this centre's."""
    if "centre_id" not in df.columns:
        return df if same else df.iloc[0:0]
    mine = df["centre_id"].astype("str") == centre_id
    return df[mine] if same else df[~mine]


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    cols = CONTEXT_SQL[table]
    create_empty(con, table, cols)
    if not len(df):
        return
    frame = pd.DataFrame({c: (df[c].astype("object") if c in df.columns else pd.Series([None] * len(df),
                                                                                         dtype="object"))
                          for c in cols})
    for c, t in cols.items():
        if t == "DATE":
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
    insert_cast(con, table, frame, cols)


def register_context(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """``CREATE OR REPLACE`` the five context tables from ``ctx`` (see the module docstring)."""
    c = ctx.centre_id
    _insert(con, "ctx_known", _scoped(ctx.known_patients, c, True))
    _insert(con, "ctx_other", _scoped(ctx.other_centre_patients, c, False))
    _insert(con, "ctx_assess", _scoped(ctx.existing_assessments, c, True))
    _insert(con, "ctx_units", ctx.unit_reference)
    _insert(con, "ctx_reviews", _scoped(ctx.reviews, c, True))


__all__ = ["CONTEXT_SQL", "register_context"]
