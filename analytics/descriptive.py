"""Descriptive statistics and two-group comparisons (Table 1).

Conventions (``docs/ANALYSES.md`` "Descriptive statistics"):

* continuous: ``n``, mean and SD (``ddof = 1``), median and IQR.  Quartiles use SAS's default
  definition 5 (``QNTLDEF=5``: empirical distribution function with averaging, = R
  ``quantile(type = 2)`` = numpy ``method="averaged_inverted_cdf"``) because the study used SAS;
  ``quantile_method`` selects any numpy method (``"linear"`` = R's default type 7).
* Wilcoxon rank-sum: normal approximation with continuity correction 0.5 and the tie-corrected
  variance (SAS NPAR1WAY's default; R ``wilcox.test(exact = FALSE, correct = TRUE)``); the exact
  test on request (``exact=True``, valid without ties).  The statistic is R's ``W`` = the
  Mann-Whitney U of the first group.
* t-test: Student's pooled-variance t-test (``var.equal = TRUE``), as the paper.
* categorical: Pearson chi-square *without* Yates' correction (SAS PROC FREQ's "Chi-Square"; R
  ``chisq.test(correct = FALSE)``), replaced by Fisher's exact test when the expected counts are
  small by Cochran's rule: any expected count < 1 or more than 20% of the cells with expected
  count < 5 (for a 2x2 table: any expected count < 5).  Fisher's two-sided p for r x c tables
  sums the probabilities of all tables no more probable than the observed one (R
  ``fisher.test``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

KINDS = ("binary", "categorical", "continuous")
SUMMARIES = ("median", "mean")
CONTINUOUS_TESTS = ("wilcoxon", "ttest", "none")
CATEGORICAL_TESTS = ("auto", "chisq", "fisher", "none")
SAS_QUANTILES = "averaged_inverted_cdf"

TEST_COLUMNS = ["test", "statistic", "df", "p_value"]


def _clean(x) -> np.ndarray:
    a = pd.to_numeric(pd.Series(x), errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return a[~np.isnan(a)]


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
    a = _clean(raw)
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
# two-sample tests
# --------------------------------------------------------------------------------------------
def wilcoxon_rank_sum(x, y, *, exact: bool = False, correction: bool = True) -> pd.DataFrame:
    """Wilcoxon rank-sum (Mann-Whitney) test, two-sided.

    Returns
    -------
    DataFrame, one row: ``test, n_x, n_y, statistic, z, p_value, method``; ``statistic`` is
    ``W = R_x - n_x (n_x + 1) / 2`` (R's ``W``), ``z`` the normal deviate (NaN for the exact test).

    Notes
    -----
    ``z = (W - n_x n_y / 2 - 0.5 sign(W - n_x n_y / 2)) / sigma`` with the tie-corrected
    ``sigma^2 = n_x n_y / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))``; ``p = 2 P(Z > |z|)``.
    Without ``correction`` the 0.5 is dropped.  ``exact=True`` uses the exact null distribution
    (no ties allowed).
    """
    a, b = _clean(x), _clean(y)
    if len(a) == 0 or len(b) == 0:
        return pd.DataFrame([{"test": "wilcoxon", "n_x": len(a), "n_y": len(b), "statistic": math.nan,
                              "z": math.nan, "p_value": math.nan, "method": "not computed: an empty group"}])
    method = "exact" if exact else "asymptotic"
    res = stats.mannwhitneyu(a, b, alternative="two-sided", method=method, use_continuity=correction)
    w = float(res.statistic)
    z = math.nan
    if not exact:
        n1, n2 = len(a), len(b)
        N = n1 + n2
        ranks = stats.rankdata(np.concatenate([a, b]))
        _, counts = np.unique(ranks, return_counts=True)
        var = n1 * n2 / 12 * ((N + 1) - np.sum(counts**3 - counts) / (N * (N - 1)))
        d = w - n1 * n2 / 2
        cc = 0.5 * np.sign(d) if correction else 0.0
        z = float((d - cc) / math.sqrt(var)) if var > 0 else math.nan
    label = "normal approximation" + (", continuity correction 0.5" if correction else "") if not exact else "exact"
    return pd.DataFrame([{"test": "wilcoxon", "n_x": len(a), "n_y": len(b), "statistic": w, "z": z,
                          "p_value": float(res.pvalue), "method": label}])


def t_test_pooled(x, y, *, alpha: float = 0.05) -> pd.DataFrame:
    """Student's two-sample t-test with pooled variance, two-sided.

    Returns
    -------
    DataFrame, one row: ``test, n_x, n_y, mean_x, mean_y, mean_diff, statistic, df, ci_low,
    ci_high, p_value`` (``mean_diff = mean_x - mean_y``, CI of the difference).

    Notes
    -----
    ``s_p^2 = ((n_x - 1) s_x^2 + (n_y - 1) s_y^2) / (n_x + n_y - 2)``,
    ``t = (mean_x - mean_y) / (s_p sqrt(1/n_x + 1/n_y))`` on ``n_x + n_y - 2`` df.
    """
    a, b = _clean(x), _clean(y)
    n1, n2 = len(a), len(b)
    row = {"test": "t-test (pooled)", "n_x": n1, "n_y": n2}
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        row.update(dict.fromkeys(["mean_x", "mean_y", "mean_diff", "statistic", "df", "ci_low", "ci_high",
                                  "p_value"], math.nan))
        return pd.DataFrame([row])
    df = n1 + n2 - 2
    sp2 = (((n1 - 1) * a.var(ddof=1) if n1 > 1 else 0.0) + ((n2 - 1) * b.var(ddof=1) if n2 > 1 else 0.0)) / df
    se = math.sqrt(sp2 * (1 / n1 + 1 / n2))
    diff = float(a.mean() - b.mean())
    t = diff / se if se > 0 else math.nan
    q = stats.t.ppf(1 - alpha / 2, df)
    row.update({"mean_x": float(a.mean()), "mean_y": float(b.mean()), "mean_diff": diff, "statistic": t,
                "df": df, "ci_low": diff - q * se, "ci_high": diff + q * se,
                "p_value": float(2 * stats.t.sf(abs(t), df)) if math.isfinite(t) else math.nan})
    return pd.DataFrame([row])


def expected_counts(table) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    return np.outer(t.sum(1), t.sum(0)) / t.sum()


def small_expected(table) -> bool:
    """Cochran's rule: any expected count < 1, or more than 20% of cells with expected < 5."""
    e = expected_counts(table)
    return bool((e < 1).any() or (e < 5).mean() > 0.2)


def chi_square(table) -> pd.DataFrame:
    """Pearson chi-square test of independence, no continuity correction.

    Returns
    -------
    DataFrame, one row: ``test, statistic, df, p_value, min_expected``.

    Notes
    -----
    ``X^2 = sum (O - E)^2 / E`` with ``E = row total x column total / N`` on
    ``(r - 1)(c - 1)`` df (SAS PROC FREQ "Chi-Square"; R ``chisq.test(correct = FALSE)``).
    Rows or columns with a zero total are dropped first.
    """
    t = _trim(table)
    if t.shape[0] < 2 or t.shape[1] < 2:
        return pd.DataFrame([{"test": "chi-square", "statistic": math.nan, "df": math.nan, "p_value": math.nan,
                              "min_expected": math.nan}])
    stat, p, dof, e = stats.chi2_contingency(t, correction=False)
    return pd.DataFrame([{"test": "chi-square", "statistic": float(stat), "df": int(dof), "p_value": float(p),
                          "min_expected": float(e.min())}])


def fisher_exact(table) -> pd.DataFrame:
    """Fisher's exact test, two-sided, for r x c tables.

    Returns
    -------
    DataFrame, one row: ``test, statistic, df, p_value, min_expected``; ``statistic`` is the
    sample odds ratio for a 2x2 table (NaN otherwise); ``df`` is NaN.

    Notes
    -----
    Conditional on the margins; the two-sided p sums the hypergeometric probabilities of all tables
    no more probable than the observed (R ``fisher.test``, SAS ``EXACT FISHER``).
    """
    t = _trim(table)
    if t.shape[0] < 2 or t.shape[1] < 2:
        return pd.DataFrame([{"test": "fisher", "statistic": math.nan, "df": math.nan, "p_value": math.nan,
                              "min_expected": math.nan}])
    ti = t.astype(int)
    if ti.shape == (2, 2):
        res = stats.fisher_exact(ti)
        odds, p = float(res.statistic), float(res.pvalue)
    else:
        odds, p = math.nan, _fisher_2xc(ti if ti.shape[0] == 2 else ti.T) if 2 in ti.shape else math.nan
    test = "fisher" if math.isfinite(p) or ti.shape == (2, 2) else "fisher (not computed: needs a 2 x c table)"
    return pd.DataFrame([{"test": test, "statistic": odds, "df": math.nan, "p_value": p,
                          "min_expected": float(expected_counts(t).min())}])


_MAX_TABLES = 5_000_000


def _fisher_2xc(t: np.ndarray) -> float:
    """Exact two-sided Fisher p for a 2 x c table by full enumeration of the first row.

    Tables with the observed margins are indexed by the first row ``x_j`` (``sum x_j = m``,
    ``0 <= x_j <= c_j``) with probability ``prod_j C(c_j, x_j) / C(N, m)``; the p-value sums the
    probabilities ``<= P(observed) * (1 + 1e-7)`` (R's tolerance).  NaN if more than 5e6 partial
    tables would be needed.
    """
    from scipy.special import gammaln

    cols = t.sum(0)
    m = int(t[0].sum())
    N = int(cols.sum())

    def lchoose(n, k):
        return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)

    sums = np.array([0])
    logp = np.array([0.0])
    for cj in cols:
        x = np.arange(cj + 1)
        s2 = (sums[:, None] + x[None, :]).ravel()
        l2 = (logp[:, None] + lchoose(cj, x)[None, :]).ravel()
        keep = s2 <= m
        sums, logp = s2[keep], l2[keep]
        if len(sums) > _MAX_TABLES:
            return math.nan
    logp = logp[sums == m] - lchoose(N, m)
    obs = float(np.sum(lchoose(cols, t[0])) - lchoose(N, m))
    probs = np.exp(logp)
    return float(min(1.0, probs[logp <= obs + math.log1p(1e-7)].sum()))


def _trim(table) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    t = t[t.sum(1) > 0][:, t.sum(0) > 0] if t.size else t
    return t


def compare_categorical(x, group, *, test: str = "auto") -> pd.DataFrame:
    """Association of a categorical ``x`` with ``group``: chi-square, or Fisher when counts are small.

    Returns
    -------
    DataFrame, one row: ``test, statistic, df, p_value, min_expected`` (see :func:`chi_square`,
    :func:`fisher_exact`); with ``test="auto"`` Fisher is used when :func:`small_expected`.
    """
    if test not in CATEGORICAL_TESTS:
        raise ValueError(f"test must be one of {', '.join(CATEGORICAL_TESTS)}; got {test!r}")
    s, g = pd.Series(x).reset_index(drop=True), pd.Series(group).reset_index(drop=True)
    ok = s.notna() & g.notna()
    table = pd.crosstab(s[ok].astype(str), g[ok].astype(str)).to_numpy()
    if test == "none":
        return pd.DataFrame([{"test": "", "statistic": math.nan, "df": math.nan, "p_value": math.nan,
                              "min_expected": math.nan}])
    if test == "chisq" or (test == "auto" and not small_expected(_trim(table))):
        return chi_square(table)
    return fisher_exact(table)


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
    from analytics._rocbase import as_outcome

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
    "Variable", "describe", "wilcoxon_rank_sum", "t_test_pooled", "chi_square", "fisher_exact",
    "compare_categorical", "small_expected", "expected_counts", "table1", "compare_continuous_by",
    "SAS_QUANTILES", "KINDS", "SUMMARIES",
]
