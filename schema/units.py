"""Unit conversion to the canonical units of the data dictionary (one small table).

Every factor is an exact :class:`~fractions.Fraction`: ``canonical = source * factor``.  Applying a
factor multiplies by its numerator and divides by its denominator, so CRP 3 mg/L becomes
``3 / 10 == 0.3`` mg/dL exactly (never ``3 * 0.1 == 0.30000000000000004``), and thresholds such as
biochemical remission (CRP < 0.3 mg/dL) behave the same whatever unit a centre exports.

Unit spellings are normalised before lookup (case, spaces, ``µ``/``μ``/``mcg`` -> ``u``, ``×`` ->
``x``, ``10*3``/``10e3``/``K`` -> ``10^3``), so ``x10^3/µL``, ``10^3/uL`` and ``K/uL`` are the same unit.
"""

from __future__ import annotations

import re
from fractions import Fraction

import pandas as pd

from schema.dictionary import VARIABLES

F = Fraction

# canonical unit -> {accepted source unit (normalised spelling) -> factor to canonical}
CONVERSIONS: dict[str, dict[str, Fraction]] = {
    "mg/dL": {"mg/dl": F(1), "mg/l": F(1, 10), "g/l": F(100)},
    "g/dL": {"g/dl": F(1), "g/l": F(1, 10), "mg/dl": F(1, 1000)},
    "%": {"%": F(1), "fraction": F(100), "l/l": F(100), "ratio": F(100)},
    "/uL": {"/ul": F(1), "/mm3": F(1), "10^3/ul": F(1000), "10^3/mm3": F(1000), "10^9/l": F(1000),
            "10^6/l": F(1)},
    "10^3/uL": {"10^3/ul": F(1), "10^3/mm3": F(1), "10^9/l": F(1), "/ul": F(1, 1000), "/mm3": F(1, 1000)},
    "mm/h": {"mm/h": F(1), "mm/hr": F(1), "mm/1h": F(1), "mm/hour": F(1)},
    "ug/mL": {"ug/ml": F(1), "mg/l": F(1), "ng/ml": F(1, 1000)},
    "ng/mL": {"ng/ml": F(1), "ug/l": F(1), "ug/ml": F(1000)},
    "pmol/8x10^8 RBC": {"pmol/8x10^8rbc": F(1), "pmol/8x10^8": F(1)},
    "points": {"points": F(1), "point": F(1)},
    "infusions": {"infusions": F(1)},
}

# The standard confusions of a canonical unit (checked by validators.units): the unit a value
# was probably written in, as a data manager spells it, and its spelling in CONVERSIONS.
MIXUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "g/dL": (("g/L", "g/l"),),
    "mg/dL": (("mg/L", "mg/l"),),
    "%": (("a fraction", "fraction"),),
    "10^3/uL": (("/uL", "/ul"),),
    "/uL": (("10^3/uL", "10^3/ul"),),
    "ug/mL": (("ng/mL", "ng/ml"),),
}

# canonical unit of every numeric dictionary variable (analytes included)
CANONICAL_UNIT: dict[str, str] = {v.name: v.unit for v in VARIABLES if v.unit}

_SUBS = (
    (re.compile(r"\s+"), ""),
    (re.compile(r"[µμ]"), "u"),
    (re.compile(r"mcg"), "ug"),
    (re.compile(r"mcl"), "ul"),
    (re.compile(r"[×*]"), "x"),
    (re.compile(r"^x"), ""),
    (re.compile(r"10x(?=\d)"), "10^"),  # 10*3 -> 10x3 -> 10^3
    (re.compile(r"10e(?=\d)"), "10^"),
    (re.compile(r"10³"), "10^3"),
    (re.compile(r"10⁹"), "10^9"),
    (re.compile(r"^(k|thou)/"), "10^3/"),
    (re.compile(r"^/?ul$"), "/ul"),
)


def normalise_unit(unit: str) -> str:
    """One spelling per unit: lower case, no spaces, ``u`` for micro, ``10^3`` for thousands."""
    s = str(unit).strip().lower()
    for pattern, repl in _SUBS:
        s = pattern.sub(repl, s)
    return s


def factor(source_unit: str, canonical_unit: str) -> Fraction | None:
    """The exact factor taking ``source_unit`` to ``canonical_unit``; None if not convertible."""
    table = CONVERSIONS.get(canonical_unit)
    if table is None:
        return None
    return table.get(normalise_unit(source_unit))


def is_known(source_unit: str, canonical_unit: str) -> bool:
    return factor(source_unit, canonical_unit) is not None


def apply_factor(values, f: Fraction):
    """``values * f`` using an integer multiply and/or divide (exact for decimal inputs)."""
    if f == 1:
        return values
    if f.numerator == 1:
        return values / f.denominator
    if f.denominator == 1:
        return values * f.numerator
    return values * f.numerator / f.denominator


def to_canonical(values, source_unit: str, canonical_unit: str):
    f = factor(source_unit, canonical_unit)
    if f is None:
        raise ValueError(f"cannot convert {source_unit!r} to {canonical_unit!r}")
    return apply_factor(values, f)


def from_canonical(values, target_unit: str, canonical_unit: str):
    """Inverse of :func:`to_canonical` (used by the synthetic generator to write centre units)."""
    f = factor(target_unit, canonical_unit)
    if f is None:
        raise ValueError(f"cannot convert {canonical_unit!r} to {target_unit!r}")
    return apply_factor(values, 1 / f)


def pair_factors(analytes: pd.Series, units: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(numerator, denominator) of each row's factor to its analyte's canonical unit (NaN: not
    convertible), looked up once per unique (analyte, unit) pair.  An empty unit is canonical."""
    raw_units = units.fillna("").astype("str")
    unit_norm = raw_units.map({u: (normalise_unit(u) if u else "") for u in raw_units.unique()})
    pair = analytes.fillna("").astype("str") + "\x1f" + unit_norm
    num: dict[str, float] = {}
    den: dict[str, float] = {}
    for key in pair.unique():
        analyte, unit = key.split("\x1f")
        canonical = CANONICAL_UNIT.get(analyte)
        if canonical is None:
            continue
        f = F(1) if unit == "" else CONVERSIONS.get(canonical, {}).get(unit)
        if f is None:
            continue
        num[key] = float(f.numerator)
        den[key] = float(f.denominator)
    return pair.map(num).astype("float64"), pair.map(den).astype("float64")


def convert_rows(values: pd.Series, analytes: pd.Series, units: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per-row conversion of long lab results (vectorised over unique (analyte, unit) pairs).

    Returns ``(canonical values, unknown)`` where ``unknown`` marks rows whose unit is not
    convertible to the analyte's canonical unit (their value is NaN).  An empty unit means the
    value is already canonical.
    """
    n, d = pair_factors(analytes, units)
    unknown = n.isna() & analytes.notna()
    out = values.astype("float64") * n / d
    return out, unknown


__all__ = [
    "CONVERSIONS",
    "CANONICAL_UNIT",
    "normalise_unit",
    "factor",
    "is_known",
    "apply_factor",
    "to_canonical",
    "from_canonical",
    "convert_rows",
    "pair_factors",
]
