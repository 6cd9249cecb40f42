"""SQL text shared by the set-wise rules: how a finding row is selected and how values are shown.

Every rule query selects :data:`FINDING_FIELDS` (``entity, source_line, patient_id, record,
column_name, value, message, expected``); :func:`validators.setwise.rule_findings` adds the rule
code, its severity and fix from the registry.  Values are shown as a data manager typed them and as
:func:`validators.checks.fmt` shows them: dates ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM`` (always,
as the record label spells them; ``fmt`` drops the time when every value of the set is midnight),
whole floats without ``.0`` (DuckDB's ``DOUBLE -> VARCHAR`` is
Python's shortest round-trip ``repr``, so ``0.1``, ``1e-07`` read the same on both paths).
"""

from __future__ import annotations

from schema.dictionary import entity_columns, variable
from schema.models import record_label_sql

FINDING_FIELDS = ("entity", "source_line", "patient_id", "record", "column_name", "value", "message", "expected")

#: Entities in report order (a line's finding is reported on its first entity in this order).
ENTITY_ORDER = ("patient", "assessment", "elisa", "lab")


def lit(text: str | None) -> str:
    """A SQL string literal (or NULL)."""
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def ymd(expr: str) -> str:
    """The day of a date or date-time as ``YYYY-MM-DD``."""
    return f"strftime(CAST({expr} AS DATE), '%Y-%m-%d')"


def num(expr: str) -> str:
    """A DOUBLE as Python's ``str`` writes it (``2.0``, ``0.3``): the text of messages and limits."""
    return f"CAST({expr} AS VARCHAR)"


def show(entity: str, column: str, alias: str) -> str:
    """``alias.column`` as report text (see the module docstring)."""
    expr = f"{alias}.{column}"
    dtype = variable(entity, column).dtype
    if dtype == "date":
        return ymd(expr)
    if dtype == "datetime":
        return f"strftime({expr}, '%Y-%m-%d %H:%M')"
    if dtype == "float":
        return f"regexp_replace(CAST({expr} AS VARCHAR), '\\.0$', '')"
    return f"CAST({expr} AS VARCHAR)"


def finding(entity: str, alias: str, column: str | None, message: str, expected: str,
            value: str | None = None, column_sql: str | None = None) -> str:
    """The select list of a finding on ``alias`` (a row of ``entity``'s table).

    ``message``/``expected``/``value`` are SQL expressions; ``value`` defaults to the shown
    ``column``; ``column_sql`` overrides the column name (a lab value's analyte)."""
    col = column_sql if column_sql is not None else lit(column)
    if value is None:
        value = show(entity, column, alias) if column else "NULL"
    return (f"{lit(entity)} AS entity, {alias}.source_line, {alias}.patient_id, "
            f"{record_label_sql(entity, alias)} AS record, {col} AS column_name, {value} AS value, "
            f"{message} AS message, {expected} AS expected")


def entity_columns_sql(entity: str, alias: str) -> str:
    """The harmonised columns of ``entity`` (not ``source_line``) as a list: a row's content."""
    return ", ".join(f"{alias}.{c}" for c in entity_columns(entity))


__all__ = ["ENTITY_ORDER", "FINDING_FIELDS", "entity_columns_sql", "finding", "lit", "num", "show", "ymd"]
