"""Analyst SQL: read-only by construction, not by convention.

Two independent guards: the statement types are checked before running (only queries), and the
snapshot is opened ``READ_ONLY`` with external access disabled, so ``COPY ... TO``, ``ATTACH``,
``INSTALL`` or reading arbitrary files fail even if the first guard were bypassed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from tdm.errors import ReadOnlyViolation, TdmError
from tdm.warehouse.connection import open_reader

ALLOWED = {"SELECT", "EXPLAIN"}


def check_readonly(query: str) -> None:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise TdmError(f"SQL syntax error: {exc}", code="sql_syntax") from exc
    if not statements:
        raise TdmError("empty query", code="sql_empty")
    for st in statements:
        kind = st.type.name
        if kind not in ALLOWED:
            raise ReadOnlyViolation(
                f"only read-only queries are allowed here; {kind} statements are refused",
                value=st.query.strip()[:80],
                hint="analysts query the curated views read-only; data changes go through ingestion",
            )


def run_readonly_query(snapshot: Path, query: str) -> pd.DataFrame:
    check_readonly(query)
    con = open_reader(snapshot)
    try:
        return con.execute(query).df()
    except duckdb.PermissionException as exc:
        raise ReadOnlyViolation(f"refused: {exc}") from exc
    except duckdb.Error as exc:
        raise TdmError(f"query failed: {exc}", code="sql_error") from exc
    finally:
        con.close()
