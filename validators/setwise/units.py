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


#: The file's values of one checked column counted per distinct value, with the running count in
#: value order (``cum``) and the total (``t``): the median is read off the two middle positions, so
#: no statement holds every value of a large file at once (DuckDB's ``median`` keeps them all in an
#: untracked buffer, outside the writer's memory limit: +311 MB for the 34 million lab rows of a 2 GB
#: export under a 256 MB limit).
_COUNTED = ("SELECT v, c, sum(c) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum, "
            "sum(c) OVER () AS t FROM (SELECT v, count(*) AS c FROM ({src}) GROUP BY v)")


def _median(lo: str, hi: str, n: str) -> str:
    """DuckDB's ``median`` (``quantile_cont(0.5)``) from the two middle values: ``lo`` itself for an odd
    number, else ``(lo + hi) / 2`` (bit for bit what DuckDB 1.5 returns; ``lo + (hi - lo) * 0.5`` differs
    in the last bit for about a quarter of pairs)."""
    return f"CASE WHEN {n} % 2 = 1 THEN {lo} ELSE ({lo} + {hi}) / 2 END"


def stats_sql() -> str:
    """Per checked column and confusion (:data:`validators.units.CHECKED_CANDIDATES`), in one query over
    the entity tables: the number of values, their median and the shares outside the plausible range
    and inside it once converted; each column's values counted once (:data:`_COUNTED`)."""
    columns = list(dict.fromkeys((entity, column) for entity, column, *_ in CHECKED_CANDIDATES))
    ctes = []
    for i, (entity, column) in enumerate(columns):
        src = (f"SELECT value AS v FROM lab WHERE analyte = {lit(column)} AND value IS NOT NULL" if entity == "lab"
               else f"SELECT {column} AS v FROM {entity} WHERE {column} IS NOT NULL")
        ctes.append(f"_c{i} AS ({_COUNTED.format(src=src)})")
    parts = []
    for entity, column, k, source, f, lo, hi in CHECKED_CANDIDATES:
        i = columns.index((entity, column))
        share = "CAST(coalesce(sum(c) FILTER (WHERE {cond}), 0) AS DOUBLE) / sum(c)"
        parts.append(
            f"SELECT {lit(entity)} AS entity, {lit(column)} AS \"column\", {k} AS k, {lit(source)} AS source, "
            f"{_dbl(f)} AS factor, n, {_median('_lo', '_hi', 'n')} AS median, outside, inside FROM ("
            f"SELECT CAST(coalesce(sum(c), 0) AS BIGINT) AS n, min(v) FILTER (WHERE cum > (t - 1) // 2) AS _lo, "
            f"min(v) FILTER (WHERE cum > t // 2) AS _hi, "
            f"{share.format(cond=f'v < {_dbl(lo)} OR v > {_dbl(hi)}')} AS outside, "
            f"{share.format(cond=f'v * {_dbl(f)} >= {_dbl(lo)} AND v * {_dbl(f)} <= {_dbl(hi)}')} AS inside "
            f"FROM _c{i})")
    return "WITH " + ", ".join(ctes) + "\n" + "\nUNION ALL\n".join(parts)


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
