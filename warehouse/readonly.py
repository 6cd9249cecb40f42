"""Analyst SQL: read-only by construction, not by convention.

Three independent guards: the statement types are checked before running (only queries); table
functions of the catalog's SQLite extension (``sqlite_scan``, ``sqlite_query``, ``sqlite_attach``)
are refused by name in the parsed query, because SQLite opens files itself and DuckDB's
file-access setting does not reach it (measured: ``sqlite_scan`` read another SQLite file with
external access off); and the lake is attached ``READ_ONLY`` on a connection that may read only
the lake's data files, with external access off and the configuration locked
(:func:`warehouse.lake.open_reader`), so ``COPY ... TO``, ``ATTACH`` of a DuckDB file,
``INSTALL``/``LOAD`` or reading arbitrary files fail even if the first guards were bypassed.  The
one exception is SQLite again: the locked connection still ATTACHes a SQLite file outside the
lake (``TYPE sqlite``; measured on DuckDB 1.5.5), so there the statement check (ATTACH is not a
query) and the function check are the guards.
"""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd

from base.config import LakeSpec
from base.errors import ReadOnlyViolation, TdmError
from warehouse.lake import open_reader

ALLOWED = {"SELECT", "EXPLAIN"}
# functions that open files outside DuckDB's file system (so enable_external_access cannot stop them)
REFUSED_FUNCTION_PREFIXES = ("sqlite_",)
_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALY[SZ]E)?\s+", re.I)


def _function_names(node) -> set[str]:
    """Every ``function_name`` in a parsed (``json_serialize_sql``) query tree."""
    found: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            name = n.get("function_name")
            if isinstance(name, str):
                found.add(name.lower())
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return found


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
        _check_functions(_EXPLAIN.sub("", st.query) if kind == "EXPLAIN" else st.query)


def _check_functions(sql: str) -> None:
    tree = json.loads(duckdb.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):
        raise ReadOnlyViolation(f"this query cannot be checked as read-only: {tree.get('error_message')}",
                                value=sql.strip()[:80], hint="write it as one SELECT (or EXPLAIN SELECT)")
    refused = sorted(f for f in _function_names(tree) if f.startswith(REFUSED_FUNCTION_PREFIXES))
    if refused:
        raise ReadOnlyViolation(f"the function {refused[0]} is refused here (it reads files outside the warehouse)",
                                value=refused[0], hint="query the warehouse's tables and the analysis.* views")


def run_readonly_query(lake: LakeSpec, query: str) -> pd.DataFrame:
    check_readonly(query)
    con = open_reader(lake)
    try:
        return con.execute(query).df()
    except duckdb.PermissionException as exc:
        raise ReadOnlyViolation(f"refused: {exc}") from exc
    except duckdb.Error as exc:
        raise TdmError(f"query failed: {exc}", code="sql_error") from exc
    finally:
        con.close()
