"""pandera models derived from the data dictionary (types, required fields, ranges, codes).

Harmonised frames (what the centre adapters produce) have one column per dictionary variable of
their entity, with the pandas dtypes in :data:`PANDAS_DTYPES`, plus ``source_line`` (the line in the
original file).  Validation is lazy: one run reports every failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schema.dictionary import ANALYTES, BY_ENTITY, ENTITIES, Variable, variable

PANDAS_DTYPES = {
    "str": "str",
    "code": "str",
    "bool": "boolean",
    "int": "Int64",
    "float": "float64",
    "date": "datetime64[us]",
    "datetime": "datetime64[us]",
}

SOURCE_LINE = "source_line"


def empty_frame(entity: str) -> pd.DataFrame:
    """An empty harmonised frame of ``entity`` with the right dtypes."""
    cols = {v.name: pd.Series(dtype=PANDAS_DTYPES[v.dtype]) for v in BY_ENTITY[entity]}
    cols[SOURCE_LINE] = pd.Series(dtype="int64")
    return pd.DataFrame(cols)


def _not_future_as_of(today: dt.date | None):
    """A vectorised "not after ``today``" check (``None``: the day the check runs)."""

    def _not_future(series: pd.Series) -> pd.Series:
        limit = pd.Timestamp(today or dt.date.today()) + pd.Timedelta(days=1)
        return series.isna() | (series < limit)

    return _not_future


def _lab_value_in_range(df: pd.DataFrame) -> pd.Series:
    # factorize once, then index small arrays: Series.map(dict) on Arrow strings costs ~0.5 us/row
    codes, uniques = pd.factorize(df["analyte"], use_na_sentinel=True)
    lo_u = np.array([ANALYTES[u].min if u in ANALYTES else np.nan for u in uniques] + [np.nan], dtype="float64")
    hi_u = np.array([ANALYTES[u].max if u in ANALYTES else np.nan for u in uniques] + [np.nan], dtype="float64")
    lo, hi = lo_u[codes], hi_u[codes]  # code -1 (missing analyte) picks the trailing NaN
    val = df["value"].to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isnan(val) | np.isnan(lo) | ((val >= lo) & (val <= hi))
    return pd.Series(ok, index=df.index)


def _checks(v: Variable, backend: Backend, today: dt.date | None) -> list:
    """The column checks the dictionary declares for ``v``; the check names are what findings map to
    rules by (``validators.dictionary_checks.CHECK_RULES``)."""
    Check = backend.api.Check
    checks = []
    if v.codes:
        checks.append(Check.isin(list(v.codes), error=f"allowed codes: {', '.join(v.codes)}"))
    if v.min is not None and v.max is not None:
        checks.append(Check.in_range(v.min, v.max, error=f"range {v.min:g} to {v.max:g} {v.unit or ''}".strip()))
    elif v.min is not None:
        checks.append(Check.ge(v.min, error=f">= {v.min:g}"))
    if v.dtype in ("date", "datetime"):
        checks.append(Check(backend.not_future(today), element_wise=False, error="not in the future",
                            name="not_future"))
    return checks


@dataclass(frozen=True)
class Backend:
    """What one pandera backend needs to execute the dictionary's declaration (:func:`declare`).

    ``api`` is the pandera module (``pandera.pandas``, ``pandera.ibis``), ``dtypes`` maps the
    dictionary's dtypes to the backend's, ``not_future(today)`` and ``lab_value_in_range`` are the two
    checks no pandera builtin expresses, written for the backend's data type."""

    api: ModuleType
    dtypes: dict
    source_line_dtype: object
    not_future: Callable
    lab_value_in_range: Callable
    coerce: bool


def declare(backend: Backend, entity: str, today: dt.date | None) -> Any:
    """The pandera schema of one harmonised entity for ``backend``: the one declaration of the
    dictionary's column checks (types, required, codes, ranges, not in the future, lab ranges)."""
    api = backend.api
    columns = {
        v.name: api.Column(backend.dtypes[v.dtype], checks=_checks(v, backend, today), nullable=not v.required,
                           coerce=backend.coerce, description=v.description, title=v.display)
        for v in BY_ENTITY[entity]
    }
    columns[SOURCE_LINE] = api.Column(backend.source_line_dtype, coerce=backend.coerce, nullable=False)
    checks = []
    if entity == "lab":
        columns["analyte"] = api.Column(
            backend.dtypes["str"], nullable=False, coerce=backend.coerce,
            checks=[api.Check.isin(sorted(ANALYTES), error=f"analyte codes: {', '.join(ANALYTES)}")])
        checks.append(api.Check(backend.lab_value_in_range, name="lab_value_in_range",
                                error="value outside the analyte's plausible paediatric range"))
    return api.DataFrameSchema(columns, checks=checks, name=entity, strict=False, coerce=backend.coerce)


PANDAS = Backend(api=pa, dtypes=PANDAS_DTYPES, source_line_dtype="int64", not_future=_not_future_as_of,
                 lab_value_in_range=_lab_value_in_range, coerce=True)


@lru_cache(maxsize=None)
def entity_model(entity: str) -> pa.DataFrameSchema:
    """The pandera schema of one harmonised entity."""
    return entity_model_as_of(entity, None)


@lru_cache(maxsize=64)
def entity_model_as_of(entity: str, today: dt.date | None) -> pa.DataFrameSchema:
    """The pandera (pandas) schema of one entity, with "not in the future" meaning "not after ``today``".

    ``today=None`` uses the date the check runs (what :func:`entity_model` does); validation
    passes its context's ``today`` so a run is reproducible.
    """
    return declare(PANDAS, entity, today)


def record_parts(entity: str) -> list[str]:
    """The entity key without centre and patient: what tells one record of a patient from another."""
    return [k for k in ENTITIES[entity].key if k not in ("centre_id", "patient_id")]


def record_label(entity: str, frame: pd.DataFrame) -> pd.Series:
    """Each row's record (its key beyond centre and patient) as text, e.g. ``2024-03-01 albumin_g_dl``.

    The one spelling of a record: a validation finding and a warehouse row of the same record get the
    same label, which is how a query follows a record across resubmissions.  Dates are ``YYYY-MM-DD``,
    date-times ``YYYY-MM-DD HH:MM``; None when a key part is missing, and for patients (whose key is
    the patient itself)."""
    parts = record_parts(entity)
    if not parts or not len(frame):
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")
    out, missing = None, None
    for name in parts:
        col = frame[name]
        if variable(entity, name).dtype in ("date", "datetime"):
            when = pd.to_datetime(col, errors="coerce")
            fmt = "%Y-%m-%d %H:%M" if variable(entity, name).dtype == "datetime" else "%Y-%m-%d"
            text = when.dt.strftime(fmt).astype("object")
        else:
            text = col.astype("object")
        gone = text.isna()
        text = text.astype("str")
        out = text if out is None else out + " " + text
        missing = gone if missing is None else missing | gone
    return out.astype("object").where(~missing, None)


def record_label_sql(entity: str, alias: str) -> str:
    """:func:`record_label` as a DuckDB expression over the table aliased ``alias`` (so a query's
    record is matched where the rows are; tests/warehouse/test_queries.py checks both agree)."""
    parts = []
    for name in record_parts(entity):
        dtype = variable(entity, name).dtype
        if dtype in ("date", "datetime"):
            fmt = "%Y-%m-%d %H:%M" if dtype == "datetime" else "%Y-%m-%d"
            parts.append(f"strftime({alias}.{name}, '{fmt}')")
        else:
            parts.append(f"CAST({alias}.{name} AS VARCHAR)")
    return " || ' ' || ".join(parts) if parts else "NULL"


__all__ = ["Backend", "PANDAS", "PANDAS_DTYPES", "SOURCE_LINE", "declare", "empty_frame", "entity_model", "entity_model_as_of",
           "record_parts", "record_label", "record_label_sql"]
