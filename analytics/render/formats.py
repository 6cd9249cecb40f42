"""Numbers formatted by what they are, for the report (the CSV tables keep full precision).

Counts as integers; p as ``<0.001`` or 3 decimals; proportions as percentages with 1 decimal;
AUCs and correlations to 3 decimals; odds ratios and coefficients to 3 significant digits;
cut-offs at the assay's resolution (0.01 µg/mL, trailing zeros dropped, as the paper's ``≥3.5``);
a dichotomy label at its clinically rounded value (:func:`clinical_round`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["is_missing", "format_p", "format_count", "format_pct", "format_sig", "format_fixed", "format_cutoff",
           "format_ci", "clinical_round", "format_value", "MISSING", "CUTOFF_DECIMALS", "DASH"]

#: What a cell shows when the value was not computed (a masked cell shows its suppression mark instead).
MISSING = "–"
DASH = "–"
#: The trough assay reports 0.01 µg/mL steps: cut-offs (observed values) are shown to that resolution.
CUTOFF_DECIMALS = 2


def is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, (float, np.floating)) and math.isnan(v))
    except TypeError:
        return False


def _num(v) -> float | None:
    if is_missing(v):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def format_p(p) -> str:
    """``<0.001`` below 0.001, else three decimals; empty for missing."""
    f = _num(p)
    if f is None:
        return ""
    return "<0.001" if f < 0.001 else f"{f:.3f}"


def format_count(v) -> str:
    f = _num(v)
    return MISSING if f is None else f"{int(round(f))}"


def format_pct(v, decimals: int = 1) -> str:
    """A proportion (0-1) as a percentage without the sign: ``0.6471 -> "64.7"``."""
    f = _num(v)
    return MISSING if f is None else f"{100 * f:.{decimals}f}"


def format_fixed(v, decimals: int = 3) -> str:
    f = _num(v)
    if f is None:
        return MISSING
    if math.isinf(f):
        return "∞" if f > 0 else "−∞"
    return f"{f:.{decimals}f}"


def format_sig(v, digits: int = 3) -> str:
    """``digits`` significant digits, never in exponent notation for ordinary magnitudes."""
    f = _num(v)
    if f is None:
        return MISSING
    if math.isinf(f):
        return "∞" if f > 0 else "−∞"
    if f == 0:
        return "0"
    mag = math.floor(math.log10(abs(f)))
    if mag < -4 or mag >= 6:
        return f"{f:.{digits - 1}e}"
    decimals = max(0, digits - 1 - mag)
    return f"{round(f, digits - 1 - mag):.{decimals}f}"


def format_cutoff(v, decimals: int = CUTOFF_DECIMALS) -> str:
    """A cut-off at the assay's resolution, trailing zeros dropped: ``3.50 -> "3.5"``, ``3.0 -> "3"``."""
    f = _num(v)
    if f is None:
        return MISSING
    text = f"{f:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clinical_round(v: float, unit: str | None) -> str:
    """The value a clinician would write in a label: one decimal for µg/mL and years, else 2 significant digits."""
    if unit in ("µg/mL", "years"):
        return f"{round(float(v), 1):.1f}"
    return format_cutoff(float(format_sig(v, 2)), 6)


def format_ci(est: str, lo: str, hi: str) -> str:
    """``"64.7 (50.1–77.6)"``; the estimate alone when the CI is missing."""
    if est == MISSING:
        return MISSING
    if lo == MISSING or hi == MISSING:
        return est
    return f"{est} ({lo}–{hi})"


_COUNT_NAMES = {"n", "df", "step", "n_events", "n_terms", "n_resamples", "n_failed", "seed", "previous_n",
                "n_false", "n_true", "n_x", "n_y", "n_dropped"}
_PROPORTIONS = ("sensitivity", "specificity", "ppv", "npv", "rate", "accuracy")


def value_kind(column: str) -> str:
    """What a column holds, from its name: count, p, pct, auc, cutoff, ratio, stat, text."""
    c = column
    if c in _COUNT_NAMES or c.startswith("n_") or c.split("_")[-1] in ("tp", "fp", "tn", "fn"):
        return "count"
    if c == "p_value" or c.endswith("p_value"):
        return "p"
    base = c[:-7] if c.endswith(("_ci_low",)) else c[:-8] if c.endswith("_ci_high") else c
    if base.endswith(_PROPORTIONS) or base in ("relative_change", "target_specificity", "conf_level"):
        return "pct"
    if base.endswith("auc") or base in ("estimate", "r", "youden_j"):
        return "auc"
    if "cutoff" in base or base in ("change", "lower", "upper"):
        return "cutoff"
    if base.endswith(("odds_ratio", "beta", "se")) or base.startswith("lr_"):
        return "ratio"
    if base.endswith(("statistic", "chi2", "z")):
        return "stat"
    return "number"


def format_value(column: str, v) -> str:
    """Format one cell by what its column holds (see :func:`value_kind`)."""
    if is_missing(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, str):
        return v
    if isinstance(v, (pd.Timestamp,)):
        return v.strftime("%Y-%m-%d %H:%M")
    kind = value_kind(column)
    if kind == "count":
        return format_count(v)
    if kind == "p":
        return format_p(v)
    if kind == "pct":
        return format_pct(v)
    if kind == "auc":
        return format_fixed(v, 3)
    if kind == "cutoff":
        return format_cutoff(v)
    if kind == "ratio":
        return format_sig(v, 3)
    if kind == "stat":
        return format_fixed(v, 2)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return format_sig(v, 3)
