"""Pearson and Spearman correlation with p-values (e.g. IFX trough vs 6-TGN).

Conventions (``docs/ANALYSES.md`` "Descriptive statistics"): pairwise complete cases; two-sided
p-values from the t distribution on ``n - 2`` df for both coefficients (R ``cor.test``, for
Spearman with ``exact = FALSE``; SAS PROC CORR); a Fisher-z confidence interval for Pearson's r
(R ``cor.test``); no interval for Spearman's rho.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("pearson", "spearman")
COLUMNS = ["method", "n", "r", "statistic", "df", "ci_low", "ci_high", "p_value"]


def correlation(x, y, *, method: str = "pearson", alpha: float = 0.05) -> pd.DataFrame:
    """Correlation coefficient of ``x`` and ``y`` with its test.

    Parameters
    ----------
    x, y : array-likes of equal length; pairs with a missing value are dropped.
    method : ``"pearson"`` or ``"spearman"``.
    alpha : CI level ``1 - alpha`` (Pearson only).

    Returns
    -------
    DataFrame, one row: ``method, n, r, statistic, df, ci_low, ci_high, p_value``.

    Notes
    -----
    ``t = r sqrt((n - 2) / (1 - r^2))`` on ``n - 2`` df, ``p = 2 P(T > |t|)``; for Spearman ``r`` is
    Pearson's r of the mid-ranks.  Pearson CI: ``tanh(atanh(r) -/+ z_{1-alpha/2} / sqrt(n - 3))``.
    Fewer than 3 pairs, or a constant variable, give NaN.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    a = pd.to_numeric(pd.Series(x), errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    b = pd.to_numeric(pd.Series(y), errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if len(a) != len(b):
        raise ValueError(f"x and y must have the same length ({len(a)} != {len(b)})")
    ok = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[ok], b[ok]
    n = len(a)
    row = {"method": method, "n": n, "r": math.nan, "statistic": math.nan, "df": n - 2 if n >= 2 else math.nan,
           "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan}
    if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return pd.DataFrame([row], columns=COLUMNS)
    if method == "spearman":
        a, b = stats.rankdata(a), stats.rankdata(b)
    r = float(np.corrcoef(a, b)[0, 1])
    r = max(-1.0, min(1.0, r))
    df = n - 2
    t = r * math.sqrt(df / (1 - r * r)) if abs(r) < 1 else math.copysign(math.inf, r)
    p = float(2 * stats.t.sf(abs(t), df))
    row.update({"r": r, "statistic": t, "p_value": p})
    if method == "pearson" and n > 3 and abs(r) < 1:
        z, h = math.atanh(r), stats.norm.ppf(1 - alpha / 2) / math.sqrt(n - 3)
        row.update({"ci_low": math.tanh(z - h), "ci_high": math.tanh(z + h)})
    return pd.DataFrame([row], columns=COLUMNS)


__all__ = ["correlation", "METHODS", "COLUMNS"]
