"""The set-wise contract between ingestion stages: harmonised entity relations and findings in DuckDB.

One file is processed inside one DuckDB transaction.  Its stages meet only through these temporary
tables (names and column types fixed here, once), so each stage can be written and tested alone:

``patient``, ``assessment``, ``elisa``, ``lab``
    one table per entity: exactly :func:`schema.dictionary.entity_columns` in :data:`SQL_TYPES`
    (the warehouse's own column types) plus ``source_line BIGINT`` (the 1-based line of the
    original file, the header being line 1, or the spreadsheet row).
``findings``
    every finding of the file in :data:`FINDING_SQL` columns: cells that did not parse, schema
    checks, cross-record and warehouse-context rules.  ``rule`` is a code of
    :data:`validators.registry.RULES`; severity and fix come from the registry.

See docs/ONE_PATH.md for the stages that produce and consume them.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from schema.dictionary import BY_ENTITY, ENTITIES, entity_columns
from schema.models import SOURCE_LINE, empty_frame

#: DuckDB types of the harmonised columns (the warehouse's own column types).
SQL_TYPES = {"str": "VARCHAR", "code": "VARCHAR", "bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE",
             "date": "DATE", "datetime": "TIMESTAMP"}

#: The findings table: one row per finding (the columns of ``validators.core.CELL_ISSUE_COLUMNS``).
FINDING_SQL: dict[str, str] = {
    "source_line": "BIGINT", "entity": "VARCHAR", "patient_id": "VARCHAR", "record": "VARCHAR",
    "column_name": "VARCHAR", "source_column": "VARCHAR", "value": "VARCHAR", "rule": "VARCHAR",
    "severity": "VARCHAR", "message": "VARCHAR", "expected": "VARCHAR", "fix": "VARCHAR",
}

#: DuckDB variable (``SET VARIABLE``) holding the day "not in the future" is checked against (stage 3
#: compiles its SQL once; the day is given when it runs).
TODAY_VARIABLE = "tdm_today"

ENTITY_TABLES = tuple(ENTITIES)          # the temporary tables' names: patient, assessment, elisa, lab
FINDINGS_TABLE = "findings"


def entity_sql_columns(entity: str) -> dict[str, str]:
    """Column -> DuckDB type of ``entity``'s harmonised relation (``source_line`` last)."""
    cols = {v.name: SQL_TYPES[v.dtype] for v in BY_ENTITY[entity]}
    cols[SOURCE_LINE] = "BIGINT"
    return cols


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_empty(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str]) -> None:
    """``CREATE OR REPLACE TEMP TABLE name`` with these columns and no rows."""
    cols = ", ".join(f"{_ident(c)} {t}" for c, t in columns.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} ({cols})").fetchall()


def insert_cast(con: duckdb.DuckDBPyConnection, table: str, frame, columns: dict[str, str]) -> None:
    """``INSERT INTO table`` the rows of ``frame`` (pandas or Arrow, holding ``columns``), each column
    cast to its DuckDB type: the one way a Python-side frame enters a temporary table."""
    con.register("_insert_frame", frame)
    try:
        select = ", ".join(f"CAST({_ident(c)} AS {t})" for c, t in columns.items())
        con.execute(f"INSERT INTO {_ident(table)} SELECT {select} FROM _insert_frame").fetchall()
    finally:
        con.unregister("_insert_frame")


def append_frame(con: duckdb.DuckDBPyConnection, entity: str, df: pd.DataFrame | None) -> None:
    """Append a harmonised frame (``schema.models.PANDAS_DTYPES``, the entity's columns) to its table."""
    if df is None or df.empty:
        return
    cols = entity_sql_columns(entity)
    insert_cast(con, entity, pa.Table.from_pandas(df[[c for c in cols]], preserve_index=False), cols)


def frames_to_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """Harmonised pandas frames (``schema.models.PANDAS_DTYPES``) as the contract's entity tables.

    For tests and for feeding a stage from frames (``validators.validate_file``, the reading bridge)."""
    for entity in ENTITY_TABLES:
        create_empty(con, entity, entity_sql_columns(entity))
        append_frame(con, entity, frames.get(entity))


def entity_frame(con: duckdb.DuckDBPyConnection, entity: str, where: str = "", params=None) -> pd.DataFrame:
    """Rows of one entity table (in the order inserted, optionally ``WHERE ...``) as a harmonised frame in
    ``PANDAS_DTYPES`` with a fresh index: how a pandas stage reads a slice of the file."""
    cols = list(entity_sql_columns(entity))
    sql = f"SELECT {', '.join(_ident(c) for c in cols)} FROM {_ident(entity)} {where} ORDER BY rowid"
    df = (con.execute(sql, params) if params is not None else con.execute(sql)).df()
    return df.astype(empty_frame(entity).dtypes.to_dict()) if len(df) else empty_frame(entity)


def tables_to_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The entity tables back as harmonised frames in ``PANDAS_DTYPES`` (for comparisons in tests)."""
    out = {}
    for entity in ENTITY_TABLES:
        cols = list(entity_sql_columns(entity))
        df = con.execute(f"SELECT {', '.join(_ident(c) for c in cols)} FROM {_ident(entity)} "
                         f"ORDER BY source_line").df()
        out[entity] = df.astype(empty_frame(entity).dtypes.to_dict()) if len(df) else empty_frame(entity)
    return out


__all__ = ["insert_cast", "ENTITY_TABLES", "TODAY_VARIABLE", "FINDINGS_TABLE", "FINDING_SQL", "SQL_TYPES", "append_frame", "create_empty", "entity_frame",
           "entity_sql_columns",
           "entity_columns", "frames_to_tables", "tables_to_frames"]
