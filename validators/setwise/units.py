"""Unit mix-ups, set-wise: a value plausible only in another standard unit (``unit_mixup``) and a
whole column written in another unit (``unit_profile_suspect``).

The confusions, factors, thresholds and messages are :mod:`validators.units`' (one definition);
this module evaluates them where the data is.  ``unit_mixup`` reports a value outside its
variable's range (a lab value outside its analyte's plausible range, not negative) that is inside it
once converted: the dictionary checks report such a value under ``unit_mixup`` *instead of*
``range``/``lab_value_implausible`` (use :func:`column_mixup_sql`/:func:`lab_mixup_sql` to leave it
out there).  ``unit_profile_suspect`` is a file error: one finding, its message every suspect column's
message joined by ``'; '`` in :data:`validators.units.FILE_CHECKED` order (as the file error reads).
"""

from __future__ import annotations

import duckdb

from schema.dictionary import ANALYTES, BY_ENTITY
from schema.units import MIXUPS
from validators.registry import RULES, Rule, register
from validators.setwise.sql import finding, lit, show
from validators.units import CHECKED_CANDIDATES, decide_column_mixups, value_mixups_sql

UNIT_MIXUP = register(Rule(
    "unit_mixup", "error", "schema",
    "A value is impossible in its column's unit but plausible in another standard unit (g/L for g/dL, mg/L for "
    "mg/dL, a fraction for %, /uL for 10^3/uL, ng/mL for ug/mL).",
    "Write the value in the column's unit (the problem shows the converted value). If the export always writes "
    "this column in the other unit, tell the study's data team so they can change your centre's settings.",
    ("lab", "elisa")))
UNIT_PROFILE_SUSPECT = register(Rule(
    "unit_profile_suspect", "file_error", "file",
    "A lab analyte or the trough level of the whole file sits at the factor of a standard unit mix-up (10, 100, "
    "1000) from the study's values: the file's unit is probably not the one your centre's settings say.",
    "Check which unit your laboratory system exports for this column. If it is the unit the report names, tell "
    "the study's data team so they can change your centre's settings; if the values are wrong, correct them. "
    "Then send the file again.", ("lab", "elisa")))


def _dbl(x: float) -> str:
    return f"CAST({float(x)!r} AS DOUBLE)"


def column_mixup_sql(entity: str, column: str, alias: str) -> str:
    """The ``unit_mixup`` message of ``alias.column`` of a non-lab entity, or NULL."""
    var = next(v for v in BY_ENTITY[entity] if v.name == column)
    return value_mixups_sql(f"{alias}.{column}", var.unit, var.min, var.max, show(entity, column, alias))


def lab_mixup_sql(alias: str) -> str:
    """The ``unit_mixup`` message of a lab row (against its analyte's unit and range), or NULL."""
    whens = [f"WHEN {lit(a)} THEN {value_mixups_sql(f'{alias}.value', v.unit, v.min, v.max, show('lab', 'value', alias))}"
             for a, v in ANALYTES.items() if v.unit in MIXUPS and v.min is not None and v.max is not None]
    return f"CASE {alias}.analyte {' '.join(whens)} END" if whens else "NULL"


def _range(lo: float, hi: float, unit: str | None) -> str:
    return f"{lo:g} to {hi:g} {unit or ''}"


_COLUMNS = [(e, v) for e in ("patient", "assessment", "elisa") for v in BY_ENTITY[e]
            if v.unit in MIXUPS and v.min is not None and v.max is not None]
_LAB_EXPECTED = "CASE l.analyte " + " ".join(
    f"WHEN {lit(a)} THEN {lit(_range(v.min, v.max, v.unit))}" for a, v in ANALYTES.items()
    if v.min is not None and v.max is not None) + " END"


def _finding(entity: str, alias: str, column_sql: str, value: str, expected: str) -> str:
    return finding(entity, alias, None, f"{alias}._m", expected, value=value, column_sql=column_sql)


UNIT_MIXUP_SQL = "\nUNION ALL\n".join(
    [f"SELECT {_finding(e, 't', lit(v.name), show(e, v.name, 't'), lit(_range(v.min, v.max, v.unit)))} "
     f"FROM (SELECT x.*, {column_mixup_sql(e, v.name, 'x')} AS _m FROM {e} x) t WHERE t._m IS NOT NULL"
     for e, v in _COLUMNS]
    + [f"SELECT {_finding('lab', 'l', 'l.analyte', show('lab', 'value', 'l'), _LAB_EXPECTED)} "
       f"FROM (SELECT x.*, {lab_mixup_sql('x')} AS _m FROM lab x WHERE x.value >= 0) l WHERE l._m IS NOT NULL"])


def stats_sql() -> str:
    """:func:`validators.units.column_stats` in one query over the entity tables."""
    parts = []
    for entity, column, k, source, f, lo, hi in CHECKED_CANDIDATES:
        src = (f"SELECT value AS v FROM lab WHERE analyte = {lit(column)} AND value IS NOT NULL" if entity == "lab"
               else f"SELECT {column} AS v FROM {entity} WHERE {column} IS NOT NULL")
        parts.append(f"SELECT {lit(entity)} AS entity, {lit(column)} AS \"column\", {k} AS k, {lit(source)} AS source, "
                     f"{_dbl(f)} AS factor, count(v) AS n, median(v) AS median, "
                     f"avg(CASE WHEN v < {_dbl(lo)} OR v > {_dbl(hi)} THEN 1.0 ELSE 0.0 END) AS outside, "
                     f"avg(CASE WHEN v * {_dbl(f)} >= {_dbl(lo)} AND v * {_dbl(f)} <= {_dbl(hi)} THEN 1.0 ELSE 0.0 END) "
                     f"AS inside FROM ({src})")
    return "\nUNION ALL\n".join(parts)


def file_unit_findings(con: duckdb.DuckDBPyConnection, table: str = "findings") -> None:
    """Insert the file's ``unit_profile_suspect`` file error: one finding naming the first suspect
    column, its message every suspect column's message joined by ``'; '`` (statistics in SQL, the
    decision over the few checked columns in :func:`validators.units.decide_column_mixups`)."""
    stats = con.execute(stats_sql()).df()
    reference = con.execute("SELECT variable, median, n FROM ctx_units").df()
    found = decide_column_mixups(stats, reference)
    if not found:
        return
    rule = RULES[UNIT_PROFILE_SUSPECT.name]
    con.execute(f"INSERT INTO {table} (column_name, message, rule, severity, fix) VALUES (?, ?, ?, ?, ?)",
                [found[0].column, "; ".join(m.message for m in found), rule.name, rule.severity,
                 rule.fix]).fetchall()


QUERIES: dict[str, str] = {UNIT_MIXUP.name: UNIT_MIXUP_SQL}

__all__ = ["QUERIES", "column_mixup_sql", "file_unit_findings", "lab_mixup_sql", "stats_sql"]
