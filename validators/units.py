"""Unit mix-ups: a value, or a whole column, that fits its variable only in another standard unit.

Two checks on the standard confusions of :data:`schema.units.MIXUPS` (g/L vs g/dL, mg/L vs
mg/dL, a fraction vs %, /uL vs 10^3/uL, ng/mL vs ug/mL), evaluated where the data is by
:mod:`validators.setwise.units`; what they say is defined here once:

* :func:`value_mixups_sql` - a value outside its plausible range that is inside it once converted
  from the other unit ("looks like g/L: 38 g/L = 3.8 g/dL"), or, for an export column in the other
  unit, once the reading's conversion is undone ("looks like a g/dL value written in a g/L column:
  0.42 g/dL is 10 times too small; 4.2 g/dL is plausible"); rule ``unit_mixup``, an error: a
  value 10 times wrong must not load.
* :func:`decide_column_mixups` - a file whose values of one variable sit, as a whole, at the factor of a
  standard confusion from the study's distribution (the warehouse's median, when it holds at
  least :data:`MIN_REFERENCE` values), or (without one) mostly outside the plausible range but
  inside it once converted: the centre profile's unit is probably wrong (``unit_profile_suspect``,
  the whole file is rejected before any row is loaded in the wrong unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schema.dictionary import ANALYTES, variable
from schema.units import CONVERSIONS, MIXUPS

MIN_FILE_VALUES = 5        # fewer values say nothing about a column's unit
MIN_REFERENCE = 20         # the study's median counts from this many values on
LOG10_TOLERANCE = 0.3      # a file median within a factor 2 of ``reference / factor`` is that confusion
MOSTLY = 0.8               # without a reference: this share outside the range, and inside once converted

# (entity, column) checked for a whole-file unit confusion: the analytes and the trough level
FILE_CHECKED: tuple[tuple[str, str], ...] = tuple(
    [("lab", a) for a, v in ANALYTES.items() if v.unit in MIXUPS] + [("elisa", "trough_ug_ml")])


def fmt_sig4(x: float) -> str:
    """4 significant digits, never in scientific notation (257000, 3.8, 0.04)."""
    return np.format_float_positional(float(x), precision=4, fractional=False, trim="-")


def candidates(unit: str | None) -> list[tuple[str, float]]:
    """(unit as a data manager writes it, factor to the canonical unit) of ``unit``'s confusions."""
    return [(shown, float(CONVERSIONS[unit][spelling])) for shown, spelling in MIXUPS.get(unit or "", ())]


@dataclass(frozen=True)
class ColumnMixup:
    """A column of a file whose values as a whole look written in another unit."""

    entity: str
    column: str
    unit: str
    source_unit: str
    file_median: float
    reference_median: float | None

    @property
    def message(self) -> str:
        seen = (f"the values of this file (median {fmt_sig4(self.file_median)}) are about "
                f"{self._times()} the study's (median {fmt_sig4(self.reference_median)} {self.unit})"
                if self.reference_median is not None else
                f"most values of this file (median {fmt_sig4(self.file_median)}) are impossible in {self.unit} and "
                f"plausible in {self.source_unit}")
        return (f"{self.column}: {seen}; they look written in {self.source_unit}, not {self.unit}. Nothing was "
                "loaded, so no value is stored in the wrong unit")

    def _times(self) -> str:
        r = self.file_median / self.reference_median
        return f"{round(r):g} times" if r >= 1 else f"1/{round(1 / r):g} of"


#: (entity, column, candidate number, unit as written, factor, lo, hi) of every whole-file check.
CHECKED_CANDIDATES: tuple[tuple[str, str, int, str, float, float, float], ...] = tuple(
    (entity, column, k, source, f, float(var.min), float(var.max))
    for entity, column in FILE_CHECKED
    for var in [ANALYTES[column] if entity == "lab" else variable(entity, column)]
    for k, (source, f) in enumerate(candidates(var.unit)))

STATS_COLUMNS = ["entity", "column", "k", "source", "factor", "n", "median", "outside", "inside"]


def decide_column_mixups(stats: pd.DataFrame, reference: pd.DataFrame | None) -> list[ColumnMixup]:
    """The whole-file unit confusions from the file's statistics (:data:`STATS_COLUMNS`, computed in
    SQL by :func:`validators.setwise.units.stats_sql`); ``reference`` has ``variable, median, n`` (the
    study's current values, :class:`validators.ValidationContext.unit_reference`).  The loop is over
    the few checked columns, never over data rows."""
    ref = {} if reference is None or not len(reference) else {
        str(r.variable): (float(r.median), int(r.n)) for r in reference.itertuples() if r.n and r.median == r.median}
    found = []
    for (entity, column), g in stats.groupby(["entity", "column"], sort=False):
        n, med = int(g["n"].iloc[0]), float(g["median"].iloc[0])
        if n < MIN_FILE_VALUES:
            continue
        unit = (ANALYTES[column] if entity == "lab" else variable(entity, column)).unit
        ref_med, ref_n = ref.get(column, (None, 0))
        for c in g.sort_values("k").itertuples():
            if ref_med is not None and ref_n >= MIN_REFERENCE and ref_med > 0 and med > 0:
                hit = abs(math.log10(med / ref_med) - math.log10(1 / c.factor)) <= LOG10_TOLERANCE
                use_ref = ref_med
            else:
                hit = c.outside >= MOSTLY and c.inside >= MOSTLY
                use_ref = None
            if hit:
                found.append(ColumnMixup(entity, column, unit, c.source, med, use_ref))
                break
    return found


# ------------------------------------------------------------------------- the same, in DuckDB SQL
def sql_text(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def fmt_sql(x: str) -> str:
    """:func:`fmt_sig4` as a DuckDB expression: 4 significant digits (ties to even, as numpy), positional."""
    digits = f"3 - CAST(floor(log10(greatest(abs({x}), 1e-300))) AS INTEGER)"
    return (f"CASE WHEN {x} = 0 THEN '0' ELSE rtrim(rtrim(CAST(CAST(round_even({x}, {digits}) AS DECIMAL(38, 12)) "
            f"AS VARCHAR), '0'), '.') END")


def value_mixups_sql(v: str, unit: str | None, lo: float, hi: float, shown: str) -> str:
    """Per value: "looks like g/L: 38 g/L = 3.8 g/dL" when the DOUBLE expression ``v`` is outside
    [lo, hi] but inside once converted from a standard confusion of ``unit``, or "looks like a g/dL
    value written in a g/L column: ..." when it is inside once the reading's conversion is undone
    (an export column in the other unit given the canonical unit's value); NULL when none fits
    (``shown``: the value as report text).  Candidates in :func:`candidates` order, converted first."""
    lo_s, hi_s = f"CAST({float(lo)!r} AS DOUBLE)", f"CAST({float(hi)!r} AS DOUBLE)"
    whens = []
    for source, f in candidates(unit):
        conv = f"({v} * CAST({f!r} AS DOUBLE))"
        written = "" if source.startswith("a ") else f" {source}"
        whens.append(f"WHEN {conv} BETWEEN {lo_s} AND {hi_s} THEN {sql_text(f'looks like {source}: ')} || {shown} || "
                     f"{sql_text(f'{written} = ')} || {fmt_sql(conv)} || {sql_text(f' {unit}')}")
    for source, f in candidates(unit):
        conv = f"({v} / CAST({f!r} AS DOUBLE))"
        times = f"{fmt_sig4(1 / f)} times too small" if f < 1 else f"{fmt_sig4(f)} times too large"
        head = f"looks like a {unit} value written in a {source.removeprefix('a ')} column: "
        whens.append(f"WHEN {conv} BETWEEN {lo_s} AND {hi_s} THEN {sql_text(head)} || {fmt_sql(v)} || "
                     f"{sql_text(f' {unit} is {times}; ')} || {fmt_sql(conv)} || {sql_text(f' {unit} is plausible')}")
    if not whens:
        return "CAST(NULL AS VARCHAR)"
    return f"CASE WHEN {v} < {lo_s} OR {v} > {hi_s} THEN CASE {' '.join(whens)} END END"


__all__ = ["CHECKED_CANDIDATES", "FILE_CHECKED", "STATS_COLUMNS", "ColumnMixup", "candidates", "decide_column_mixups",
           "fmt_sig4", "fmt_sql", "sql_text", "value_mixups_sql"]
