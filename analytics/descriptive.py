"""Descriptive statistics and Table 1 (its two-group tests are :mod:`analytics.group_tests`).

Conventions (``docs/ANALYSES.md`` "Descriptive statistics"):

* continuous: ``n``, mean and SD (``ddof = 1``), median and IQR.  Quartiles use SAS's default
  definition 5 (``QNTLDEF=5``: empirical distribution function with averaging, = R
  ``quantile(type = 2)`` = numpy ``method="averaged_inverted_cdf"``) because the study used SAS;
  ``quantile_method`` selects any numpy method (``"linear"`` = R's default type 7).
* the two-group tests (Wilcoxon rank-sum, pooled t, chi-square / Fisher by Cochran's rule) are
  :mod:`analytics.group_tests`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics._rocbase import as_outcome
from analytics.group_tests import (CATEGORICAL_TESTS, CONTINUOUS_TESTS, compare_categorical, numeric_values, t_test_pooled,
                                   wilcoxon_rank_sum)

KINDS = ("binary", "categorical", "continuous")
SUMMARIES = ("median", "mean")
SAS_QUANTILES = "averaged_inverted_cdf"


# --------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------
def describe(x, *, quantile_method: str = SAS_QUANTILES) -> pd.DataFrame:
    """Summary of a continuous variable.

    Returns
    -------
    DataFrame, one row: ``n, n_missing, mean, sd, median, q1, q3, min, max``.

    Notes
    -----
    ``sd = sqrt(sum (x - mean)^2 / (n - 1))``; quartiles by ``quantile_method`` (default SAS
    definition 5 / R type 2).  Empty input gives ``n = 0`` and NaN statistics.
    """
    raw = pd.Series(x)
    a = numeric_values(raw)
    n = len(a)
    row = {"n": n, "n_missing": int(len(raw) - n)}
    if n == 0:
        row.update(dict.fromkeys(["mean", "sd", "median", "q1", "q3", "min", "max"], math.nan))
    else:
        q1, med, q3 = np.quantile(a, [0.25, 0.5, 0.75], method=quantile_method)
        row.update({"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if n > 1 else math.nan,
                    "median": float(med), "q1": float(q1), "q3": float(q3),
                    "min": float(a.min()), "max": float(a.max())})
    return pd.DataFrame([row], columns=["n", "n_missing", "mean", "sd", "median", "q1", "q3", "min", "max"])


# --------------------------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variable:
    """One row (or block of rows) of a descriptive table.

    ``kind``: ``binary`` (n (%) of true), ``categorical`` (n (%) per level), ``continuous``;
    ``summary`` for continuous: ``median`` (median [IQR], Wilcoxon) or ``mean`` (mean +/- SD,
    pooled t-test); ``test`` overrides the default test; ``digits`` decimals shown.
    """

    name: str
    label: str = ""
    kind: str = "continuous"
    summary: str = "median"
    test: str | None = None
    digits: int = 1
    levels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.summary not in SUMMARIES:
            raise ValueError(f"{self.name}: summary must be one of {', '.join(SUMMARIES)}; got {self.summary!r}")
        valid = CONTINUOUS_TESTS if self.kind == "continuous" else CATEGORICAL_TESTS
        if self.test is not None and self.test not in valid:
            raise ValueError(f"{self.name}: test must be one of {', '.join(valid)}; got {self.test!r}")


TABLE1_BASE = ["variable", "label", "level", "kind", "summary", "n", "overall"]
TABLE1_TAIL = ["test", "statistic", "p_value"]


def _fmt(v: float, digits: int) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _format_continuous(x, var: Variable, quantile_method: str) -> tuple[int, str]:
    d = describe(x, quantile_method=quantile_method).iloc[0]
    if d["n"] == 0:
        return 0, ""
    if var.summary == "mean":
        return int(d["n"]), f"{_fmt(d['mean'], var.digits)} ± {_fmt(d['sd'], var.digits)}"
    return int(d["n"]), f"{_fmt(d['median'], var.digits)} [{_fmt(d['q1'], var.digits)}–{_fmt(d['q3'], var.digits)}]"


def _as_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")

    arr = as_outcome(s, name=str(s.name))
    out = pd.Series(arr == 1.0, index=s.index, dtype="boolean")
    out[np.isnan(arr)] = pd.NA
    return out


def _format_count(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f})" if n else ""


def table1(data: pd.DataFrame, variables: list[Variable], *, by: str | None = None,
           quantile_method: str = SAS_QUANTILES) -> pd.DataFrame:
    """Descriptive table, overall and by a binary/categorical grouping column, with tests.

    Parameters
    ----------
    data : one row per patient.
    variables : :class:`Variable` specifications, in display order.
    by : grouping column (e.g. ``"mucosal_healing"``); ``None`` for the overall column only.
    quantile_method : numpy quantile method for the IQR (default SAS definition 5).

    Returns
    -------
    DataFrame, one row per binary/continuous variable and per level of a categorical variable
    (plus a header row for the variable, which carries the test), columns
    ``variable, label, level, kind, summary, n, overall, <by>=<value>..., test, statistic,
    p_value``.  ``summary`` is ``"n (%)"``, ``"median [IQR]"`` or ``"mean ± SD"``; cells are
    formatted text; ``n`` is the number of non-missing values.  Missing values are excluded
    from percentages' denominators.

    Notes
    -----
    Tests as in the module docstring: Wilcoxon (median rows) or pooled t-test (mean rows) for
    continuous variables; chi-square, or Fisher's exact test by Cochran's rule, for binary and
    categorical ones.  Rows with a missing ``by`` value count in ``overall`` only.
    """
    missing = [v.name for v in variables if v.name not in data.columns]
    if by is not None and by not in data.columns:
        missing.append(by)
    if missing:
        raise ValueError(f"unknown column(s) {missing}; valid columns: {', '.join(map(str, data.columns))}")
    groups: list = []
    gser = None
    if by is not None:
        gser = data[by]
        groups = sorted(pd.unique(gser.dropna()), key=lambda v: (str(type(v)), v))
    gcols = [f"{by}={g}" for g in groups]
    rows: list[dict] = []

    def blank_test():
        return {"test": "", "statistic": math.nan, "p_value": math.nan}

    for var in variables:
        s = data[var.name]
        base = {"variable": var.name, "label": var.label or var.name, "kind": var.kind}
        if var.kind == "continuous":
            n, overall = _format_continuous(s, var, quantile_method)
            row = {**base, "level": "", "summary": "mean ± SD" if var.summary == "mean" else "median [IQR]",
                   "n": n, "overall": overall}
            for g, col in zip(groups, gcols):
                row[col] = _format_continuous(s[gser == g], var, quantile_method)[1]
            test = var.test or ("ttest" if var.summary == "mean" else "wilcoxon")
            row.update(blank_test())
            if by is not None and len(groups) == 2 and test != "none":
                a, b = s[gser == groups[0]], s[gser == groups[1]]
                r = (t_test_pooled(a, b) if test == "ttest" else wilcoxon_rank_sum(a, b)).iloc[0]
                row.update({"test": r["test"], "statistic": r["statistic"], "p_value": r["p_value"]})
            rows.append(row)
        elif var.kind == "binary":
            b = _as_bool(s)
            ok = b.notna()
            row = {**base, "level": "", "summary": "n (%)", "n": int(ok.sum()),
                   "overall": _format_count(int(b[ok].sum()), int(ok.sum()))}
            for g, col in zip(groups, gcols):
                m = ok & (gser == g)
                row[col] = _format_count(int(b[m].sum()), int(m.sum()))
            row.update(blank_test())
            if by is not None and len(groups) >= 2 and var.test != "none":
                r = compare_categorical(b.where(ok), gser, test=var.test or "auto").iloc[0]
                row.update({"test": r["test"], "statistic": r["statistic"], "p_value": r["p_value"]})
            rows.append(row)
        else:
            ok = s.notna()
            levels = list(var.levels) if var.levels else sorted(pd.unique(s[ok].astype(str)))
            head = {**base, "level": "", "summary": "n (%)", "n": int(ok.sum()), "overall": ""}
            for col in gcols:
                head[col] = ""
            head.update(blank_test())
            if by is not None and len(groups) >= 2 and var.test != "none":
                r = compare_categorical(s, gser, test=var.test or "auto").iloc[0]
                head.update({"test": r["test"], "statistic": r["statistic"], "p_value": r["p_value"]})
            rows.append(head)
            sv = s.astype(str)
            for lv in levels:
                row = {**base, "level": lv, "summary": "n (%)", "n": int(ok.sum()),
                       "overall": _format_count(int((ok & (sv == lv)).sum()), int(ok.sum()))}
                for g, col in zip(groups, gcols):
                    m = ok & (gser == g)
                    row[col] = _format_count(int((m & (sv == lv)).sum()), int(m.sum()))
                row.update(blank_test())
                rows.append(row)
    return pd.DataFrame(rows, columns=[*TABLE1_BASE, *gcols, *TABLE1_TAIL])


def compare_continuous_by(data: pd.DataFrame, value: str, outcomes: list[str], *,
                          test: str = "wilcoxon", quantile_method: str = SAS_QUANTILES) -> pd.DataFrame:
    """``value`` compared between the two classes of each binary column in ``outcomes``.

    E.g. trough by mucosal healing, clinical remission, biochemical remission, ATI (Figure 1).

    Returns
    -------
    DataFrame, one row per outcome: ``outcome, n_false, n_true, median_false, q1_false, q3_false,
    median_true, q1_true, q3_true, test, statistic, p_value``.
    """
    if test not in ("wilcoxon", "ttest"):
        raise ValueError(f"test must be one of wilcoxon, ttest; got {test!r}")
    rows = []
    for o in outcomes:
        if o not in data.columns:
            raise ValueError(f"unknown column {o!r}; valid columns: {', '.join(map(str, data.columns))}")
        b = _as_bool(data[o])
        x = data[value]
        f, t = x[b == False], x[b == True]  # noqa: E712 - nullable boolean comparison
        df_, dt = describe(f, quantile_method=quantile_method).iloc[0], describe(t, quantile_method=quantile_method).iloc[0]
        r = (wilcoxon_rank_sum(t, f) if test == "wilcoxon" else t_test_pooled(t, f)).iloc[0]
        rows.append({"outcome": o, "n_false": int(df_["n"]), "n_true": int(dt["n"]),
                     "median_false": df_["median"], "q1_false": df_["q1"], "q3_false": df_["q3"],
                     "median_true": dt["median"], "q1_true": dt["q1"], "q3_true": dt["q3"],
                     "test": r["test"], "statistic": r["statistic"], "p_value": r["p_value"]})
    return pd.DataFrame(rows, columns=["outcome", "n_false", "n_true", "median_false", "q1_false", "q3_false",
                                       "median_true", "q1_true", "q3_true", "test", "statistic", "p_value"])


__all__ = [
    "Variable", "describe", "table1", "compare_continuous_by", "SAS_QUANTILES", "KINDS", "SUMMARIES",
]
