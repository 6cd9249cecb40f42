"""What a validation run knows besides the file itself (pure data, no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd


def _frame(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})


def _empty_patients() -> pd.DataFrame:
    return _frame("centre_id", "patient_id")


def _empty_assessments() -> pd.DataFrame:
    df = _frame("centre_id", "patient_id")
    df["colonoscopy_date"] = pd.Series(dtype="datetime64[us]")
    return df


def _empty_reviews() -> pd.DataFrame:
    return _frame("centre_id", "entity", "patient_id", "record", "rule", "column_name", "value")


@dataclass(frozen=True)
class ValidationContext:
    """The centre, the file and what the warehouse already holds (all frames default to empty).

    ``known_patients``
        ``centre_id, patient_id`` of this centre's current baseline patients in the warehouse.  If it
        also carries ``birth_date, diagnosis_date, ifx_start_date``, the cross-file date rules
        (``date_order``, ``ifx_under_1_year``) use them for visits sent in separate files.
    ``other_centre_patients``
        ``centre_id, patient_id`` of patients registered by other centres.
    ``existing_assessments``
        ``centre_id, patient_id, colonoscopy_date`` (optionally ``infusion_date``) of this centre's
        current assessments loaded from earlier files.
    ``reviews``
        ``centre_id, entity, patient_id, record, rule, column_name, value`` of the findings a data
        manager confirmed as true values (answered queries); a warning matching one exactly is not
        reported (``ValidationResult.confirmed``).
    ``unit_reference``
        ``variable, median, n``: the study's current values of the variables checked for a whole-file
        unit mix-up (:data:`validators.units.FILE_CHECKED`), from the warehouse.
    ``max_error_fraction``
        the centre's policy: when more than this fraction of the file's lines is rejected, the whole
        file is rejected (``too_many_errors``).  1.0 (the default) never rejects a whole file.
    """

    centre_id: str
    file_name: str = ""
    file_kind: str = "wide"
    known_patients: pd.DataFrame = field(default_factory=_empty_patients)
    other_centre_patients: pd.DataFrame = field(default_factory=_empty_patients)
    existing_assessments: pd.DataFrame = field(default_factory=_empty_assessments)
    reviews: pd.DataFrame = field(default_factory=_empty_reviews)
    unit_reference: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"variable": pd.Series(dtype="str"), "median": pd.Series(dtype="float64"), "n": pd.Series(dtype="int64")}))
    max_error_fraction: float = 1.0
    today: dt.date = field(default_factory=dt.date.today)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.max_error_fraction) <= 1.0:
            raise ValueError(f"max_error_fraction must be between 0 and 1, got {self.max_error_fraction!r}")


#: The context tables of docs/ONE_PATH.md: name -> (ValidationContext field, columns and their DuckDB types).
CONTEXT_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "ctx_known": ("known_patients", {"centre_id": "VARCHAR", "patient_id": "VARCHAR", "birth_date": "DATE",
                                     "diagnosis_date": "DATE", "ifx_start_date": "DATE"}),
    "ctx_other": ("other_centre_patients", {"centre_id": "VARCHAR", "patient_id": "VARCHAR"}),
    "ctx_assess": ("existing_assessments", {"centre_id": "VARCHAR", "patient_id": "VARCHAR",
                                            "colonoscopy_date": "DATE", "infusion_date": "DATE"}),
    "ctx_units": ("unit_reference", {"variable": "VARCHAR", "median": "DOUBLE", "n": "BIGINT"}),
    "ctx_reviews": ("reviews", {"centre_id": "VARCHAR", "entity": "VARCHAR", "patient_id": "VARCHAR",
                                "record": "VARCHAR", "rule": "VARCHAR", "column_name": "VARCHAR", "value": "VARCHAR"}),
}


def register_context(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """The context's frames as the temporary ``ctx_*`` tables set-wise stages read (a column the frame
    lacks is NULL; reviews are those of ``ctx.centre_id``)."""
    for table, (name, cols) in CONTEXT_TABLES.items():
        df = getattr(ctx, name)
        if table == "ctx_reviews" and "centre_id" in df.columns:
            df = df[df["centre_id"].astype("str") == ctx.centre_id]
        frame = pd.DataFrame({c: (df[c].astype("object") if c in df.columns else pd.Series([None] * len(df),
                                                                                             dtype="object"))
                              for c in cols}).reset_index(drop=True)
        frame = frame.where(frame.notna(), None)
        con.register("_ctx", frame)
        try:
            select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in cols.items())
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM _ctx").fetchall()
        finally:
            con.unregister("_ctx")


__all__ = ["CONTEXT_TABLES", "ValidationContext", "register_context"]
