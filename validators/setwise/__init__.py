"""Stage 4 of the one path: every cross-field, cross-record and warehouse-context rule, set-wise.

Each rule is written once, as its registry entry beside one DuckDB query, in a module per family:
:mod:`~validators.setwise.dates` (date order, trough before infusion),
:mod:`~validators.setwise.values` (SES-CD sum, ATI titre, censored trough, negative lab value),
:mod:`~validators.setwise.records` (second assessment, orphans, repeated lines and keys, another
centre's patient), :mod:`~validators.setwise.cohort` (the cohort-exclusion warnings, from
:data:`schema.derived.CRITERIA`) and :mod:`~validators.setwise.units` (a value or a whole column
in another unit).  The queries read the contract's tables (``patient``,
``assessment``, ``elisa``, ``lab``; :mod:`schema.relations`) and the context tables
(:func:`register_context`), and :func:`rule_findings` inserts their findings into ``findings``.
"""

from __future__ import annotations

import duckdb

from schema.relations import FINDING_SQL, FINDINGS_TABLE
from validators.context import ValidationContext
from validators.registry import RULES
from validators.setwise import cohort, dates, records, units, values
from validators.setwise.files import file_findings, has_file_error
from validators.setwise.context import CONTEXT_SQL, register_context
from validators.setwise.sql import FINDING_FIELDS

#: rule code -> its query, in report order (every code is a registered rule).
QUERIES: dict[str, str] = {**dates.QUERIES, **values.QUERIES, **records.QUERIES, **cohort.QUERIES,
                           **units.QUERIES}

_COLUMNS = ", ".join(FINDING_SQL)


def create_findings(con: duckdb.DuckDBPyConnection) -> None:
    """The ``findings`` temporary table, if the file's transaction has none yet."""
    cols = ", ".join(f"{c} {t}" for c, t in FINDING_SQL.items())
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {FINDINGS_TABLE} ({cols})").fetchall()


def rule_query(code: str) -> str:
    """``code``'s query as full ``findings`` rows (rule, severity and fix from the registry: ``?`` x 3)."""
    fields = ", ".join(FINDING_FIELDS)
    return (f"SELECT source_line, entity, patient_id, record, column_name, NULL AS source_column, value, "
            f"? AS rule, ? AS severity, message, expected, ? AS fix FROM (SELECT {fields} FROM ({QUERIES[code]}))")


def rule_findings(con: duckdb.DuckDBPyConnection, ctx: ValidationContext | None = None) -> None:
    """Insert every row rule's findings for the file in ``con``'s entity tables into ``findings`` (the
    whole-file checks are :func:`validators.setwise.files.file_findings`).

    With ``ctx`` the context tables are (re)built from it first; without, they must exist already
    (e.g. filled from ``core.*`` inside the writer transaction, :data:`CONTEXT_SQL`)."""
    if ctx is not None:
        register_context(con, ctx)
    create_findings(con)
    for code in QUERIES:
        rule = RULES[code]
        con.execute(f"INSERT INTO {FINDINGS_TABLE} ({_COLUMNS}) {rule_query(code)}",
                    [rule.name, rule.severity, rule.fix]).fetchall()


__all__ = ["CONTEXT_SQL", "QUERIES", "create_findings", "file_findings", "has_file_error", "register_context", "rule_findings", "rule_query"]
