"""Stage 3's SQL, compiled from the dictionary's ``pandera.ibis`` declaration (the slow part, cached).

Each declared check is run by pandera's ibis backend (``Check.__call__`` gives its boolean output as
an ibis expression, positionally aligned with the table as pandera itself aligns it on DuckDB); the
rows where it is false become a relation compiled to SQL, mapped to its rule **by the check's name**
(:data:`validators.dictionary_checks.CHECK_RULES`), never by message text.  Compiling imports ibis and
pandera.ibis and costs 2.5-4.5 s per process: :mod:`validators.dictionary_checks` keeps the result on
disk and imports this module only when its cache is missing or stale.
"""

from __future__ import annotations

from functools import lru_cache

import ibis
import ibis.expr.types as ir
from pandera.constants import CHECK_OUTPUT_KEY

from schema.dictionary import ANALYTES, BY_ENTITY
from schema.ibis_models import entity_model_ibis
from schema.models import SOURCE_LINE, record_label_sql
from schema.relations import ENTITY_TABLES, FINDING_SQL, FINDINGS_TABLE, TODAY_VARIABLE, create_empty, entity_sql_columns
from validators.dictionary_checks import CHECK_RULES, RULES_WRITTEN
from validators.registry import get_rule
from validators.setwise.units import column_mixup_sql, lab_mixup_sql
from validators.units import candidates, sql_text


@lru_cache(maxsize=1)
def _compiler() -> ibis.BaseBackend:
    """An empty in-memory DuckDB holding the contract's entity tables: ibis compiles against it."""
    backend = ibis.duckdb.connect()
    for entity in ENTITY_TABLES:
        create_empty(backend.con, entity, entity_sql_columns(entity))
    return backend


def _flagged(t: ir.Table, schema) -> tuple[ir.Table, list[tuple[str, str | None, object]]]:
    """``t`` with one boolean column per declared check, true where the row passes, as pandera's ibis
    backend computes it (``Check.__call__``; a table-shaped output is aligned by a positional join, as
    pandera aligns it on DuckDB); and (flag column, checked column, check) for each (check None: the
    column's nullable declaration, ``not_nullable``; column None: a table-wide check)."""
    flags, preds, joins = [], {}, []
    declared = [(name, None) for name, col in schema.columns.items() if not col.nullable]
    declared += [(name, c) for name, col in schema.columns.items() for c in col.checks]
    declared += [(None, c) for c in schema.checks]
    for k, (name, check) in enumerate(declared):
        flag = f"__ok_{k}"
        flags.append((flag, name, check))
        if check is None:
            preds[flag] = t[name].notnull()
            continue
        out = check(t, name).check_output
        if isinstance(out, ir.BooleanColumn):        # a predicate over ``t`` itself
            preds[flag] = out
        else:
            joins.append(out.rename({flag: CHECK_OUTPUT_KEY}))
    flagged = t.mutate(**preds)
    for j in joins:
        flagged = flagged.join(j, how="positional")
    # a float NaN is a missing value, as in pandas and pandera (DuckDB keeps it apart from NULL; a text
    # 'nan' casts to it): it fails only the nullable declaration
    nan = {}
    for flag, name, check in flags:
        col = flagged["value" if name is None else name]
        if col.type().is_floating():
            nan[flag] = (flagged[flag] & ~col.isnan()) if check is None else (flagged[flag] | col.isnan())
    return flagged.mutate(**nan), flags


def _value_sql(entity: str, column: str, alias: str = "f") -> str:
    """The value as report text (``validators.checks.fmt``): ``38`` not ``38.0``; dates ``YYYY-MM-DD``,
    date-times with ``HH:MM`` when any failing value of the check has a time of day."""
    col = f'{alias}."{column}"'
    dtype = "float" if column == "value" else next(v.dtype for v in BY_ENTITY[entity] if v.name == column)
    if dtype == "float":
        return f"regexp_replace(CAST({col} AS VARCHAR), '\\.0$', '')"
    if dtype == "date":
        return f"strftime({col}, '%Y-%m-%d')"
    if dtype == "datetime":
        return (f"CASE WHEN bool_or({col} <> date_trunc('day', {col})) OVER () THEN strftime({col}, '%Y-%m-%d %H:%M') "
                f"ELSE strftime({col}, '%Y-%m-%d') END")
    if dtype == "bool":
        return f"CASE WHEN {col} THEN 'True' WHEN NOT {col} THEN 'False' END"
    return f"CAST({col} AS VARCHAR)"


def _part(entity: str, flag: str, column: str | None, rule: str, message: str, expected: str,
          value: str | None = None, where: str = "TRUE") -> str:
    """One check's findings as a SELECT over the rows failing it (flag false; a NULL flag passes, as
    in pandera); rule, message and expected are SQL expressions."""
    col_name = sql_text(column) if column else "NULL"
    if entity == "lab" and column == "value":        # a lab value names its analyte column, as the export does
        col_name = "f.analyte"
    return (f"SELECT f.{SOURCE_LINE} AS source_line, {sql_text(entity)} AS entity, f.patient_id, "
            f"{record_label_sql(entity, 'f')} AS record, {col_name} AS column_name, "
            f"{value or 'CAST(NULL AS VARCHAR)'} AS value, {rule} AS rule, {message} AS message, "
            f"{expected} AS expected FROM failing f WHERE NOT coalesce(f.{flag}, TRUE) AND {where}")


#: the harmonised column a cell finding's column stands for: a wide lab cell is the lab row's
#: ``value``, a trough cell also carries ``trough_censor``
_CELL_ALIAS = (f"CASE WHEN c.entity = 'lab' AND c.column_name IN ({', '.join(sql_text(a) for a in ANALYTES)}) "
               "THEN 'value' WHEN c.column_name = 'trough_ug_ml' THEN 'trough_censor' ELSE c.column_name END")


def _not_a_cell_finding(entity: str, name: str) -> str:
    """A cell that did not parse (a cell finding of the same line, entity and column, or of a cell
    the column is derived from) is not reported again as ``required``."""
    return (f"NOT EXISTS (SELECT 1 FROM {FINDINGS_TABLE} c WHERE c.source_column IS NOT NULL "
            f"AND c.source_line = f.{SOURCE_LINE} AND c.entity = {sql_text(entity)} "
            f"AND (c.column_name = {sql_text(name)} OR {_CELL_ALIAS} = {sql_text(name)}))")


def _check_part(entity: str, flag: str, name: str, check) -> str:
    """The findings SELECT of one declared check of column ``name`` (``check`` None: its nullable
    declaration), mapped to its rule by the check's name."""
    if check is None:
        return _part(entity, flag, name, sql_text("required"), sql_text(f"{name} is empty"), sql_text("a value"),
                     where=_not_a_cell_finding(entity, name))
    rule = CHECK_RULES[check.name]
    var = next((v for v in BY_ENTITY[entity] if v.name == name), None)
    value = _value_sql(entity, name)
    text = check.error or str(check)
    if rule == "allowed_codes":
        expected = "one of " + text[len("allowed codes: "):] if text.startswith("allowed codes: ") else text
        return _part(entity, flag, name, sql_text(rule), sql_text(f"{name} is not an allowed code"),
                     sql_text(expected), value)
    if rule == "not_future":
        day = f"strftime(coalesce(getvariable({sql_text(TODAY_VARIABLE)}), current_date), '%Y-%m-%d')"
        return _part(entity, flag, name, sql_text(rule), sql_text(f"{name} is in the future"),
                     f"'on or before ' || {day}", value)
    mixed = "TRUE"
    if var is not None and var.min is not None and var.max is not None and candidates(var.unit):
        mixed = f"({column_mixup_sql(entity, name, 'f')}) IS NULL"      # a unit mix-up is stage 4's finding
    return _part(entity, flag, name, sql_text(rule), sql_text(f"{name} is out of range"), sql_text(text), value,
                 where=mixed)


def _by_analyte(values: dict[str, str], default: str = "NULL") -> str:
    whens = " ".join(f"WHEN {sql_text(k)} THEN {v}" for k, v in values.items())
    return f"CASE f.analyte {whens} ELSE {default} END"


def _lab_range_part(flag: str) -> str:
    """The lab-wide range check: an implausible value.  A negative value is the rule ``range``'s
    (``validators.setwise.values``) and a value plausible in another unit the rule ``unit_mixup``'s
    (``validators.setwise.units``), so both are left out here."""
    value = _value_sql("lab", "value")
    expected = _by_analyte({k: sql_text(f"{a.min:g} to {a.max:g} {a.unit or ''}") for k, a in ANALYTES.items()})
    return _part("lab", flag, "value", sql_text("lab_value_implausible"),
                 "f.analyte || ' outside the plausible paediatric range'", expected, value,
                 where=f"NOT (f.value < 0) AND ({lab_mixup_sql('f')}) IS NULL")


@lru_cache(maxsize=None)
def findings_sql(entity: str) -> str:
    """The SELECT of ``entity``'s dictionary-check findings in ``FINDING_SQL`` columns, compiled once:
    one pass computes every check's flag, the (few) failing rows are kept, then each check's findings
    are read from them.  "Not in the future" is checked against the connection's ``tdm_today``."""
    flagged, flags = _flagged(_compiler().table(entity), entity_model_ibis(entity, None))
    parts = [_lab_range_part(flag) if name is None else _check_part(entity, flag, name, check)
             for flag, name, check in flags]
    any_failed = " OR ".join(f"NOT coalesce({flag}, TRUE)" for flag, _, _ in flags)
    severity = " ".join(f"WHEN {sql_text(r)} THEN {sql_text(get_rule(r).severity)}" for r in RULES_WRITTEN)
    fix = " ".join(f"WHEN {sql_text(r)} THEN {sql_text(get_rule(r).fix)}" for r in RULES_WRITTEN)
    cols = {"source_line": "source_line", "entity": "entity", "patient_id": "patient_id", "record": "record",
            "column_name": "column_name", "source_column": "CAST(NULL AS VARCHAR)", "value": "value",
            "rule": "rule", "severity": f"CASE rule {severity} END", "message": "message",
            "expected": "expected", "fix": f"CASE rule {fix} END"}
    select = ", ".join(f"{cols[c]} AS {c}" for c in FINDING_SQL)
    union = "\nUNION ALL\n".join(f"({p})" for p in parts)
    # the flagged relation streams (a subquery, never a materialised CTE); only its failing rows are kept
    return (f"WITH failing AS MATERIALIZED (SELECT * FROM ({ibis.to_sql(flagged, dialect='duckdb')}) flagged "
            f"WHERE {any_failed})\n"
            f"SELECT {select} FROM (\n{union}\n) p")


__all__ = ["findings_sql"]
