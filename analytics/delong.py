"""DeLong's nonparametric AUC variance, CI and tests (DeLong, DeLong & Clarke-Pearson 1988).

Computed with the fast algorithm of Sun & Xu (2014): every structural component (placement
value) follows from one sort of the marker with midranks, O(n log n).  Here the midranks are
taken per distinct marker value (:func:`analytics._rocbase.tabulate`), which is the same thing
with ties made explicit.  Results match R pROC 1.18 ``ci.auc(method = "delong")`` and
``roc.test(method = "delong")``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics._rocbase import Tabulation, as_marker, as_outcome, clean, tabulate
from base.errors import AnalysisError

__all__ = ["DelongAuc", "AucComparison", "delong_auc", "delong_placements", "delong_test",
           "delong_test_paired", "delong_test_unpaired"]


@dataclass(frozen=True)
class DelongAuc:
    """AUC with DeLong standard error, CI and z-test against 0.5.

    Attributes
    ----------
    auc, se, variance : float
    ci_low, ci_high : float
        ``auc -+ z se`` truncated to [0, 1] (as pROC does).
    z, p_value : float
        ``z = (auc - 0.5) / se``; two-sided p.  NaN when ``se == 0``.
    conf_level : float
    n_positive, n_negative : int
    """

    auc: float
    se: float
    variance: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    conf_level: float
    n_positive: int
    n_negative: int

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def _z(conf_level: float) -> float:
    if not 0.0 < float(conf_level) < 1.0:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    return float(stats.norm.ppf(1 - (1 - float(conf_level)) / 2))


def _two_sided(z: float) -> float:
    return float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else float("nan")


def delong_from_tabulation(tab: Tabulation, conf_level: float = 0.95) -> DelongAuc:
    """DeLong AUC/SE/CI from a tabulation (internal fast path; no cleaning)."""
    zq = _z(conf_level)
    m, n = tab.m, tab.n
    if m < 2 or n < 2:
        raise AnalysisError(
            f"DeLong variance needs at least 2 patients with and 2 without the outcome; got {m} and {n}",
            code="too_few_patients",
        )
    v10, v01 = tab.placements()
    auc = tab.auc()
    s10 = float(np.dot(tab.pos, (v10 - auc) ** 2)) / (m - 1)
    s01 = float(np.dot(tab.neg, (v01 - auc) ** 2)) / (n - 1)
    var = s10 / m + s01 / n
    se = float(np.sqrt(var))
    lo = min(max(auc - zq * se, 0.0), 1.0)
    hi = min(max(auc + zq * se, 0.0), 1.0)
    z = (auc - 0.5) / se if se > 0 else float("nan")
    return DelongAuc(auc=auc, se=se, variance=var, ci_low=lo, ci_high=hi, z=float(z),
                     p_value=_two_sided(z), conf_level=float(conf_level), n_positive=m, n_negative=n)


def delong_auc(marker, outcome, *, conf_level: float = 0.95) -> DelongAuc:
    """AUC of ``marker`` for ``outcome`` with DeLong SE, CI and p-value against AUC = 0.5.

    Parameters
    ----------
    marker : array-like of float
        Higher values predict the positive outcome (no direction flip).
    outcome : array-like of bool / 0-1
        Positive class = True/1.  Pairs with a missing value are dropped.
    conf_level : float, default 0.95

    Returns
    -------
    DelongAuc
        ``auc, se, variance, ci_low, ci_high, z, p_value, conf_level, n_positive, n_negative``.

    Notes
    -----
    With ``m`` cases ``X_i`` and ``n`` controls ``Y_j``, ``psi(x, y) = 1 if x > y, 1/2 if x = y,
    0 otherwise``; ``AUC = sum psi / (m n)``.  Placements ``V10_i = mean_j psi(X_i, Y_j)``,
    ``V01_j = mean_i psi(X_i, Y_j)``; ``S10 = sum (V10_i - AUC)^2 / (m - 1)``,
    ``S01 = sum (V01_j - AUC)^2 / (n - 1)``; ``Var = S10/m + S01/n``.
    CI ``= AUC -+ z_{1-a/2} sqrt(Var)``, truncated to [0, 1] (pROC ``ci.auc(method="delong")``);
    ``p`` is the two-sided normal test of ``(AUC - 0.5)/SE``.
    """
    cl = clean(marker, outcome, min_per_class=2)
    return delong_from_tabulation(tabulate(cl.marker, cl.outcome), conf_level)


def delong_placements(marker, outcome) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-patient placement values (structural components).

    Returns
    -------
    v10 : ndarray
        One per case (outcome True), in input order of the cases.
    v01 : ndarray
        One per control, in input order of the controls.
    auc : float
    """
    cl = clean(marker, outcome)
    tab = tabulate(cl.marker, cl.outcome)
    g10, g01 = tab.placements()
    return g10[tab.group[cl.outcome]], g01[tab.group[~cl.outcome]], tab.auc()


@dataclass(frozen=True)
class AucComparison:
    """DeLong test of two AUCs (``H0: AUC1 = AUC2``).

    Attributes
    ----------
    auc1, auc2 : float
    difference : float
        ``auc1 - auc2``.
    se : float
        SE of the difference.
    ci_low, ci_high : float
        CI of the difference (not truncated): ``difference -+ z se`` when paired (as pROC),
        ``difference -+ t_df se`` when unpaired (pROC gives no CI there).
    z, p_value : float
        The test statistic (pROC's ``Z`` when paired, ``D`` when unpaired) and its two-sided p:
        normal when paired, Student t with ``df`` degrees of freedom when unpaired (as pROC).
    df : float
        Welch-Satterthwaite degrees of freedom (unpaired); NaN when paired.
    paired : bool
    correlation : float
        Correlation of the two AUC estimates (paired only; NaN unpaired).
    n1, n2 : int
        Patients used for each AUC (equal when paired).
    conf_level : float
    """

    auc1: float
    auc2: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    df: float
    paired: bool
    correlation: float
    n1: int
    n2: int
    conf_level: float

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def _finish(auc1, auc2, var, *, paired, corr, n1, n2, conf_level, df=float("nan")) -> AucComparison:
    zq = _z(conf_level)
    diff = auc1 - auc2
    se = float(np.sqrt(max(var, 0.0)))
    z = diff / se if se > 0 else float("nan")
    if paired or not np.isfinite(df):
        q, p = zq, _two_sided(z)
    else:
        q = float(stats.t.ppf(1 - (1 - float(conf_level)) / 2, df))
        p = float(2 * stats.t.sf(abs(z), df)) if np.isfinite(z) else float("nan")
    return AucComparison(auc1=auc1, auc2=auc2, difference=diff, se=se, ci_low=diff - q * se,
                         ci_high=diff + q * se, z=float(z), p_value=p, df=float(df), paired=paired,
                         correlation=float(corr), n1=n1, n2=n2, conf_level=float(conf_level))


def delong_test_paired(marker1, marker2, outcome, *, conf_level: float = 0.95) -> AucComparison:
    """Paired DeLong test: two markers measured on the same patients.

    Patients missing either marker or the outcome are dropped (complete cases).

    Returns
    -------
    AucComparison
        ``auc1, auc2, difference, se, ci_low, ci_high, z, p_value, paired=True, correlation,
        n1, n2, conf_level``.

    Notes
    -----
    ``Var(AUC1 - AUC2) = (S10_11 + S10_22 - 2 S10_12)/m + (S01_11 + S01_22 - 2 S01_12)/n`` with
    ``S10_rs = sum_i (V10_ri - AUC_r)(V10_si - AUC_s)/(m - 1)`` (and ``S01`` over controls);
    ``z = (AUC1 - AUC2)/sqrt(Var)``.  Same as pROC ``roc.test(r1, r2, method = "delong",
    paired = TRUE)``.
    """
    x1 = as_marker(marker1, name="marker1")
    x2 = as_marker(marker2, name="marker2")
    y = as_outcome(outcome)
    if not (x1.shape == x2.shape == y.shape):
        raise AnalysisError("marker1, marker2 and outcome must have equal lengths", code="length_mismatch")
    keep = ~(np.isnan(x1) | np.isnan(x2) | np.isnan(y))
    x1, x2, yb = x1[keep], x2[keep], y[keep] == 1.0
    clean(x1, yb, min_per_class=2)  # validates the class sizes
    t1 = tabulate(x1, yb)
    t2 = tabulate(x2, yb)
    m, n = t1.m, t1.n
    a1, a2 = t1.auc(), t2.auc()
    g10_1, g01_1 = t1.placements()
    g10_2, g01_2 = t2.placements()
    v10 = np.vstack([g10_1[t1.group[yb]], g10_2[t2.group[yb]]])
    v01 = np.vstack([g01_1[t1.group[~yb]], g01_2[t2.group[~yb]]])
    s10 = np.cov(v10)  # denominators m-1 and n-1
    s01 = np.cov(v01)
    s = s10 / m + s01 / n
    var = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    corr = s[0, 1] / np.sqrt(s[0, 0] * s[1, 1]) if s[0, 0] > 0 and s[1, 1] > 0 else float("nan")
    return _finish(a1, a2, var, paired=True, corr=corr, n1=int(yb.size), n2=int(yb.size),
                   conf_level=conf_level)


def delong_test_unpaired(marker1, outcome1, marker2, outcome2, *, conf_level: float = 0.95) -> AucComparison:
    """Unpaired DeLong test: two independent samples (e.g. two centres).

    Returns
    -------
    AucComparison
        As :func:`delong_test_paired` with ``paired=False`` and ``correlation`` NaN.

    Notes
    -----
    ``D = (AUC1 - AUC2) / sqrt(V1 + V2)`` with each ``V`` from :func:`delong_auc`, referred to
    Student t with Welch-Satterthwaite ``df = (V1 + V2)^2 / (V1^2/(N1 - 1) + V2^2/(N2 - 1))``
    (``N`` = all patients of a sample); same as pROC ``roc.test(r1, r2, method = "delong",
    paired = FALSE)``.
    """
    d1 = delong_auc(marker1, outcome1, conf_level=conf_level)
    d2 = delong_auc(marker2, outcome2, conf_level=conf_level)
    n1 = d1.n_positive + d1.n_negative
    n2 = d2.n_positive + d2.n_negative
    v1, v2 = d1.variance, d2.variance
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) if (v1 + v2) > 0 else float("nan")
    return _finish(d1.auc, d2.auc, v1 + v2, paired=False, corr=float("nan"), n1=n1, n2=n2,
                   conf_level=conf_level, df=df)


def delong_test(marker1, outcome1, marker2=None, outcome2=None, *, paired: bool,
                conf_level: float = 0.95) -> AucComparison:
    """Dispatch: ``paired=True`` needs ``marker2`` on the same patients (``outcome2`` ignored
    unless given, then it must equal ``outcome1``); ``paired=False`` needs both samples."""
    if marker2 is None:
        raise ValueError("marker2 is required")
    if paired:
        return delong_test_paired(marker1, marker2, outcome1, conf_level=conf_level)
    if outcome2 is None:
        raise ValueError("outcome2 is required when paired=False")
    return delong_test_unpaired(marker1, outcome1, marker2, outcome2, conf_level=conf_level)
