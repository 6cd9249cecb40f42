"""Two-group comparisons of Table 1 and Figure 1: rank-sum, t, chi-square and Fisher's exact tests.

Conventions (``docs/ANALYSES.md`` "Descriptive statistics"):

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

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

CONTINUOUS_TESTS = ("wilcoxon", "ttest", "none")
CATEGORICAL_TESTS = ("auto", "chisq", "fisher", "none")
TEST_COLUMNS = ["test", "statistic", "df", "p_value"]


def numeric_values(x) -> np.ndarray:
    """The numbers of ``x`` (text coerced), missing ones dropped."""
    a = pd.to_numeric(pd.Series(x), errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return a[~np.isnan(a)]


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
    a, b = numeric_values(x), numeric_values(y)
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
    a, b = numeric_values(x), numeric_values(y)
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


__all__ = [
    "CATEGORICAL_TESTS", "CONTINUOUS_TESTS", "TEST_COLUMNS", "chi_square", "compare_categorical", "expected_counts", "fisher_exact", "numeric_values",
    "small_expected", "t_test_pooled", "wilcoxon_rank_sum",
]
