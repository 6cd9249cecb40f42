"""Harmonised pandas frames into the contract's tables: what a frame-fed stage needs.

``validators.validate_file`` (frames in) and the reading bridge ``ingestion.read`` (until the set-wise
reader replaces it) put harmonised frames into the one path's tables with these: :func:`normalise`
(every dictionary column in its dtype, and the ``dtype`` findings of values that are not),
:func:`missing_columns` (the ``missing_column`` file error), :func:`to_issues` (findings of frame rows
as issue rows), :func:`file_error_finding` and :func:`append_findings`.  The checks themselves are
set-wise (``validators.stages``).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from schema.dictionary import BY_ENTITY, ENTITIES, entity_columns
from schema.models import PANDAS_DTYPES, SOURCE_LINE, empty_frame, record_label
from schema.relations import FINDING_SQL, FINDINGS_TABLE, insert_cast
from base.errors import FileRejected
from validators.registry import get_rule
from validators.results import empty_issues

#: A frame finding: the entity frame and row position of the failing row, and what is wrong.
FINDING_COLUMNS = ["entity", "row", "column_name", "value", "message", "expected"]
ENTITY_ORDER = tuple(ENTITIES)


def no_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in FINDING_COLUMNS})


def fmt(values: pd.Series) -> pd.Series:
    """Values as report text: dates as YYYY-MM-DD (with the time when it is not midnight), whole
    floats without a trailing ``.0``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        has_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
        out = values.dt.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values):
        # as a data manager typed it: 38, not 38.0
        out = values.astype("str").str.replace(r"\.0$", "", regex=True)
    else:
        out = values.astype("str")
    return out.where(values.notna(), None).astype("object")


def _text(x, n: int) -> pd.Series | list:
    if isinstance(x, pd.Series):
        return x.astype("object").to_numpy()
    return [x] * n


def findings(entity: str, rows: pd.DataFrame, column: str | None, message, expected=None,
             value: pd.Series | None = None) -> pd.DataFrame:
    """Build a findings frame for ``rows`` (a slice of the entity frame; its index is the row)."""
    n = len(rows)
    if n == 0:
        return no_findings()
    if value is None:
        value = fmt(rows[column]) if column else pd.Series([None] * n, index=rows.index)
    return pd.DataFrame({
        "entity": entity,
        "row": rows.index.to_numpy(dtype="int64"),
        "column_name": column,
        "value": _text(value, n),
        "message": _text(message, n),
        "expected": _text(expected, n),
    })


def normalise(entity: str, df: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """A fresh-index copy with every dictionary column in its dtype; (frame, missing required, dtype findings)."""
    if df is None:
        return empty_frame(entity), [], no_findings()
    df = df.reset_index(drop=True).copy()
    missing = [v.name for v in BY_ENTITY[entity] if v.required and v.name not in df.columns]
    if SOURCE_LINE not in df.columns:
        missing.append(SOURCE_LINE)
    bad = []
    for v in BY_ENTITY[entity]:
        dtype = PANDAS_DTYPES[v.dtype]
        if v.name not in df.columns:
            df[v.name] = pd.Series([None] * len(df), index=df.index, dtype=dtype) if dtype != "datetime64[us]" else pd.NaT
            if dtype == "datetime64[us]":
                df[v.name] = df[v.name].astype(dtype)
            continue
        col = df[v.name]
        if str(col.dtype) == dtype:
            continue
        try:
            df[v.name] = col.astype(dtype)
            continue
        except (ValueError, TypeError):
            pass
        if dtype == "datetime64[us]":
            conv = pd.to_datetime(col, errors="coerce", format="mixed").astype(dtype)
        elif dtype in ("Int64", "float64"):
            conv = pd.to_numeric(col, errors="coerce").astype(dtype)
        elif dtype == "boolean":
            m = col.astype("str").str.strip().str.lower().map(
                {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False})
            conv = m.astype("boolean")
        else:
            conv = col.astype("str")
        failed = col.notna() & conv.isna()
        bad.append(findings(entity, df[failed], v.name, f"not a valid {v.dtype}",
                            f"a {v.dtype} value", value=col[failed].astype("str")))
        df[v.name] = conv
    if SOURCE_LINE in df.columns:
        df[SOURCE_LINE] = pd.to_numeric(df[SOURCE_LINE], errors="coerce").fillna(-1).astype("int64")
    else:
        df[SOURCE_LINE] = np.arange(2, len(df) + 2, dtype="int64")
    cols = entity_columns(entity) + [SOURCE_LINE]
    extra = [c for c in df.columns if c not in cols]
    dtype_findings = pd.concat(bad, ignore_index=True) if bad else no_findings()
    return df[cols + extra], missing, dtype_findings


def to_issues(rule: str, f: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if not len(f):
        return empty_issues()
    r = get_rule(rule)
    parts = []
    for ent, grp in f.groupby("entity", sort=False):
        df = frames[ent]
        rows = grp["row"].to_numpy()
        parts.append(pd.DataFrame({
            "source_line": df[SOURCE_LINE].to_numpy()[rows],
            "entity": ent,
            "patient_id": df["patient_id"].astype("object").to_numpy()[rows],
            "record": record_label(ent, df.iloc[rows]).to_numpy(),
            "column_name": grp["column_name"].to_numpy(),
            "value": grp["value"].to_numpy(),
            "rule": rule,
            "severity": r.severity,
            "message": grp["message"].to_numpy(),
            "expected": grp["expected"].to_numpy(),
            "fix": r.fix,
            "_row": rows,
        }))
    return pd.concat(parts, ignore_index=True)


def file_error_finding(err: FileRejected) -> pd.DataFrame:
    """The one finding of a file-level check (severity ``file_error``)."""
    return pd.DataFrame([{"source_line": err.line, "entity": None, "patient_id": None, "record": None,
                          "column_name": err.column, "source_column": None,
                          "value": None if err.value is None else str(err.value), "rule": err.code,
                          "severity": "file_error", "message": err.message, "expected": None,
                          "fix": err.hint or get_rule(err.code).fix}]).astype("object")


def missing_columns(frames: dict[str, pd.DataFrame | None], file_name: str) -> FileRejected | None:
    """A file whose harmonised frames lack a required column is rejected whole (``missing_column``)."""
    missing = [(e, v.name) for e in ENTITY_ORDER if frames.get(e) is not None
               for v in BY_ENTITY[e] if v.required and v.name not in frames[e].columns]
    missing += [(e, SOURCE_LINE) for e in ENTITY_ORDER
                if frames.get(e) is not None and SOURCE_LINE not in frames[e].columns]
    if not missing:
        return None
    return FileRejected(f"required column(s) missing: {', '.join(f'{e}.{c}' for e, c in missing)}",
                        code="missing_column", file=file_name, column=missing[0][1],
                        hint=get_rule("missing_column").fix)


def append_findings(con: duckdb.DuckDBPyConnection, df: pd.DataFrame) -> None:
    """Append rows (``FINDING_SQL`` columns) to the findings table."""
    if not len(df):
        return
    frame = df.reindex(columns=list(FINDING_SQL)).astype("object")
    insert_cast(con, FINDINGS_TABLE, frame.where(frame.notna(), None), FINDING_SQL)


__all__ = ["ENTITY_ORDER", "FINDING_COLUMNS", "append_findings", "file_error_finding", "findings", "fmt",
           "missing_columns", "no_findings", "normalise", "to_issues"]
