"""The same column checks on three validation backends, for the validation benchmark.

The checks come from the data dictionary (``schema.dictionary.BY_ENTITY``): required -> not null,
codes -> isin, min/max -> range; that is what the project's pandera models check per column.
``pandera_pandas`` runs the project's own models (``schema.models.entity_model_as_of``, lazy);
``pandera_polars`` the dictionary checks as a ``pandera.polars`` schema on eager polars frames;
``duckdb_checks`` the same checks as one ``SELECT count_if(...)`` per entity over the registered
frames (in-database validation).  Each returns {entity: failing cells}.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pandera.pandas as pa

from schema.dictionary import BY_ENTITY, entity_columns
from schema.models import SOURCE_LINE, entity_model_as_of

try:        # optional (the polars extra): without it the polars backend is reported as not installed
    import pandera.polars as pap
    import polars as pl
except ImportError as exc:
    pap = pl = None
    _POLARS_MISSING = exc


def _checks(entity: str):
    for v in BY_ENTITY[entity]:
        yield v.name, bool(v.required), tuple(v.codes) if getattr(v, "codes", None) else None, \
            getattr(v, "min", None), getattr(v, "max", None)


def pandera_pandas(frames: dict[str, pd.DataFrame], ctx) -> dict[str, int]:
    out = {}
    for ent, df in frames.items():
        schema = entity_model_as_of(ent, ctx.today)
        try:
            schema.validate(df[entity_columns(ent) + [SOURCE_LINE]], lazy=True)
            out[ent] = 0
        except pa.errors.SchemaErrors as exc:
            out[ent] = int(len(exc.failure_cases))
    return out


def to_polars(frames: dict[str, pd.DataFrame]):
    if pl is None:
        raise ImportError(str(_POLARS_MISSING))
    return {ent: pl.from_pandas(df) for ent, df in frames.items()}


_PL_SCHEMAS: dict = {}


def _polars_schema(entity: str):
    if entity in _PL_SCHEMAS:
        return _PL_SCHEMAS[entity]
    cols = {}
    for name, required, codes, lo, hi in _checks(entity):
        checks = []
        if codes:
            checks.append(pap.Check.isin(list(codes)))
        if lo is not None:
            checks.append(pap.Check.ge(lo))
        if hi is not None:
            checks.append(pap.Check.le(hi))
        cols[name] = pap.Column(nullable=not required, checks=checks, required=False)
    _PL_SCHEMAS[entity] = pap.DataFrameSchema(cols)
    return _PL_SCHEMAS[entity]


def pandera_polars(frames: dict[str, pd.DataFrame], ctx) -> dict[str, int]:
    """Includes the pandas -> polars conversion (the frames arrive as pandas)."""
    out = {}
    for ent, df in to_polars(frames).items():
        try:
            _polars_schema(ent).validate(df, lazy=True)
            out[ent] = 0
        except pap.errors.SchemaErrors as exc:
            out[ent] = int(len(exc.failure_cases))
    return out


def _sql(entity: str, columns) -> str:
    parts = []
    for name, required, codes, lo, hi in _checks(entity):
        if name not in columns:
            continue
        q = f'"{name}"'
        conds = []
        if required:
            conds.append(f"{q} IS NULL")
        if codes:
            lst = ", ".join("'" + c.replace("'", "''") + "'" for c in codes)
            conds.append(f"({q} IS NOT NULL AND {q} NOT IN ({lst}))")
        if lo is not None:
            conds.append(f"{q} < {lo}")
        if hi is not None:
            conds.append(f"{q} > {hi}")
        parts.extend(f"count_if({c})" for c in conds)
    return "SELECT " + (" + ".join(parts) if parts else "0") + " FROM _v"


def duckdb_checks(frames: dict[str, pd.DataFrame], ctx, con=None) -> dict[str, int]:
    """The dictionary's column checks as SQL over the registered frames (Arrow scan, 2 threads)."""
    own = con is None
    con = con or duckdb.connect()
    out = {}
    try:
        for ent, df in frames.items():
            con.register("_v", df)
            out[ent] = int(con.execute(_sql(ent, set(df.columns))).fetchall()[0][0])
            con.unregister("_v")
    finally:
        if own:
            con.close()
    return out
