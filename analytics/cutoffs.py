"""Cut-offs of a marker: metrics at a cut-off with confidence intervals, the Youden and
target-sensitivity/specificity choices, and the cut-off table (Table 4 of the study paper).

Conventions: the positive class is ``outcome == True``; a patient tests positive when
``marker >= cutoff``; higher marker predicts the positive outcome (no direction flip).
Proportion CIs are exact Clopper-Pearson by default (``ci_method="wilson"`` for Wilson score);
likelihood-ratio CIs use the log method (Simel, Samsa & Matchar 1991).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from analytics._rocbase import Tabulation, clean, tabulate

#: Cut-offs of Table 4 of the study paper, ug/mL.
DEFAULT_CUTOFFS: tuple[float, ...] = (3.0, 3.5, 4.5, 5.0, 5.3, 6.0, 8.5)
CI_METHODS = ("clopper-pearson", "wilson")

__all__ = [
    "DEFAULT_CUTOFFS",
    "CI_METHODS",
    "CutoffMetrics",
    "proportion_ci",
    "likelihood_ratios",
    "confusion_at",
    "cutoff_metrics",
    "metrics_from_counts",
    "youden_cutoffs",
    "target_specificity_cutoff",
    "target_sensitivity_cutoff",
    "cutoff_table",
]


def _check_conf(conf_level: float) -> float:
    conf_level = float(conf_level)
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    return conf_level


def _check_ci_method(ci_method: str) -> str:
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    return ci_method


def proportion_ci(k, n, *, conf_level: float = 0.95, method: str = "clopper-pearson"):
    """Confidence interval of a binomial proportion k/n (vectorised).

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials.  Where ``n == 0`` the interval is NaN.
    conf_level : float
        Two-sided confidence level.
    method : {"clopper-pearson", "wilson"}
        Exact Clopper-Pearson (default) or Wilson score (no continuity correction).

    Returns
    -------
    ci_low, ci_high : ndarray of float

    Notes
    -----
    Clopper-Pearson: ``[B(a/2; k, n-k+1), B(1-a/2; k+1, n-k)]`` with ``B`` the beta quantile,
    0 when ``k = 0`` and 1 when ``k = n``; identical to R ``binom.test(k, n)$conf.int``.
    Wilson: ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``; identical to R
    ``prop.test(k, n, correct = FALSE)$conf.int``.
    """
    conf_level = _check_conf(conf_level)
    _check_ci_method(method)
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "clopper-pearson":
            lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
            hi = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
        else:
            z = stats.norm.ppf(1 - alpha / 2)
            p = k / n
            denom = 1 + z * z / n
            centre = p + z * z / (2 * n)
            half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
            lo = (centre - half) / denom
            hi = (centre + half) / denom
    bad = n <= 0
    lo = np.where(bad, np.nan, lo)
    hi = np.where(bad, np.nan, hi)
    return lo, hi


def likelihood_ratios(tp, fp, tn, fn, *, conf_level: float = 0.95):
    """Positive and negative likelihood ratios with log-method CIs (vectorised).

    Returns
    -------
    dict of ndarray
        ``lr_positive, lr_positive_ci_low, lr_positive_ci_high, lr_negative,
        lr_negative_ci_low, lr_negative_ci_high, lr_note``.  ``lr_note`` is "" when both ratios
        and their CIs are finite, otherwise says which cell is zero.

    Notes
    -----
    ``LR+ = sens / (1 - spec)``, ``LR- = (1 - sens) / spec``.  Log method (Simel et al. 1991):
    ``SE(log LR+) = sqrt(1/TP - 1/(TP+FN) + 1/FP - 1/(FP+TN))``,
    ``SE(log LR-) = sqrt(1/FN - 1/(TP+FN) + 1/TN - 1/(FP+TN))``; CI ``= exp(log LR -+ z SE)``.
    Zero cells get no continuity correction: ``FP = 0`` gives LR+ = inf, ``TP = 0`` gives
    LR+ = 0, and the log CI is then undefined (NaN); likewise ``TN = 0`` / ``FN = 0`` for LR-.
    ``0/0`` is NaN.  These cases are named in ``lr_note``.
    """
    conf_level = _check_conf(conf_level)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    tp, fp, tn, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, tn, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = tp / (tp + fn)
        spec = tn / (tn + fp)
        lrp = sens / (1 - spec)
        lrn = (1 - sens) / spec
        se_p = np.sqrt(1 / tp - 1 / (tp + fn) + 1 / fp - 1 / (fp + tn))
        se_n = np.sqrt(1 / fn - 1 / (tp + fn) + 1 / tn - 1 / (fp + tn))
        ok_p = (tp > 0) & (fp > 0)
        ok_n = (fn > 0) & (tn > 0)
        lrp_lo = np.where(ok_p, np.exp(np.log(lrp) - z * se_p), np.nan)
        lrp_hi = np.where(ok_p, np.exp(np.log(lrp) + z * se_p), np.nan)
        lrn_lo = np.where(ok_n, np.exp(np.log(lrn) - z * se_n), np.nan)
        lrn_hi = np.where(ok_n, np.exp(np.log(lrn) + z * se_n), np.nan)
    notes = []
    for a, b, c, d in zip(np.atleast_1d(tp), np.atleast_1d(fp), np.atleast_1d(tn), np.atleast_1d(fn)):
        parts = []
        if b == 0:
            parts.append("FP=0: LR+ infinite, CI undefined" if a > 0 else "TP=FP=0: LR+ undefined")
        elif a == 0:
            parts.append("TP=0: LR+ zero, CI undefined")
        if c == 0:
            parts.append("TN=0: LR- infinite, CI undefined" if d > 0 else "TN=FN=0: LR- undefined")
        elif d == 0:
            parts.append("FN=0: LR- zero, CI undefined")
        notes.append("; ".join(parts))
    return {
        "lr_positive": lrp,
        "lr_positive_ci_low": lrp_lo,
        "lr_positive_ci_high": lrp_hi,
        "lr_negative": lrn,
        "lr_negative_ci_low": lrn_lo,
        "lr_negative_ci_high": lrn_hi,
        "lr_note": np.asarray(notes, dtype=object),
    }


@dataclass(frozen=True)
class CutoffMetrics:
    """Diagnostic accuracy of the rule ``marker >= cutoff`` with 95% (``conf_level``) CIs.

    Attributes
    ----------
    cutoff : float
        The cut-off ``c`` (an observed marker value when chosen by the data).
    rule : str
        Always ``">="``.
    tp, fp, tn, fn : int
        Confusion counts (positive class = outcome True).
    sensitivity, specificity, ppv, npv : float
        With ``*_ci_low`` / ``*_ci_high`` (Clopper-Pearson or Wilson, see ``ci_method``);
        NaN when the denominator is zero.
    youden_j : float
        ``sensitivity + specificity - 1``.
    lr_positive, lr_negative : float
        With log-method ``*_ci_low`` / ``*_ci_high``; ``lr_note`` explains inf/NaN.
    accuracy : float
        ``(tp + tn) / n``.
    conf_level, ci_method : float, str
    """

    cutoff: float
    rule: str
    tp: int
    fp: int
    tn: int
    fn: int
    sensitivity: float
    sensitivity_ci_low: float
    sensitivity_ci_high: float
    specificity: float
    specificity_ci_low: float
    specificity_ci_high: float
    ppv: float
    ppv_ci_low: float
    ppv_ci_high: float
    npv: float
    npv_ci_low: float
    npv_ci_high: float
    youden_j: float
    accuracy: float
    lr_positive: float
    lr_positive_ci_low: float
    lr_positive_ci_high: float
    lr_negative: float
    lr_negative_ci_low: float
    lr_negative_ci_high: float
    lr_note: str
    conf_level: float
    ci_method: str

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


#: Column order of the cut-off table (and of :meth:`CutoffMetrics.to_frame`).
METRIC_COLUMNS = tuple(CutoffMetrics.__dataclass_fields__)


def metrics_from_counts(cutoffs, tp, fp, tn, fn, *, conf_level: float = 0.95,
                        ci_method: str = "clopper-pearson") -> pd.DataFrame:
    """Vectorised metrics for arrays of confusion counts; one row per cut-off.

    Returns
    -------
    DataFrame
        The columns of :class:`CutoffMetrics` (see there), in that order.
    """
    conf_level = _check_conf(conf_level)
    _check_ci_method(ci_method)
    cutoffs = np.asarray(cutoffs, dtype=np.float64)
    tp, fp, tn, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, tn, fn))
    out: dict[str, object] = {"cutoff": cutoffs, "rule": ">=", "tp": tp, "fp": fp, "tn": tn, "fn": fn}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, k, d in (
            ("sensitivity", tp, tp + fn),
            ("specificity", tn, tn + fp),
            ("ppv", tp, tp + fp),
            ("npv", tn, tn + fn),
        ):
            est = np.where(d > 0, k / np.where(d > 0, d, 1), np.nan)
            lo, hi = proportion_ci(k, d, conf_level=conf_level, method=ci_method)
            out[name] = est
            out[f"{name}_ci_low"] = lo
            out[f"{name}_ci_high"] = hi
        out["youden_j"] = out["sensitivity"] + out["specificity"] - 1
        out["accuracy"] = (tp + tn) / (tp + fp + tn + fn)
    out.update(likelihood_ratios(tp, fp, tn, fn, conf_level=conf_level))
    out["conf_level"] = conf_level
    out["ci_method"] = ci_method
    df = pd.DataFrame(out)
    return df[list(METRIC_COLUMNS)]


def _row_to_metrics(row: pd.Series) -> CutoffMetrics:
    d = row.to_dict()
    for c in ("tp", "fp", "tn", "fn"):
        d[c] = int(d[c])
    for c, v in d.items():
        if isinstance(v, (np.floating,)):
            d[c] = float(v)
    return CutoffMetrics(**d)


def confusion_at(tab: Tabulation, cutoffs) -> tuple[np.ndarray, ...]:
    """Confusion counts of ``marker >= c`` for arbitrary cut-offs (exact, vectorised).

    Returns ``(tp, fp, tn, fn)`` int64 arrays.  ``c`` need not be an observed value.
    """
    c = np.asarray(cutoffs, dtype=np.float64)
    k = np.searchsorted(tab.values, c, side="left")  # first group with value >= c
    tp_all = np.append(tab.tp, 0)
    fp_all = np.append(tab.fp, 0)
    tp = tp_all[k]
    fp = fp_all[k]
    return tp, fp, tab.n - fp, tab.m - tp


def cutoff_metrics(marker, outcome, cutoff: float, *, conf_level: float = 0.95,
                   ci_method: str = "clopper-pearson") -> CutoffMetrics:
    """Metrics of the rule ``marker >= cutoff``; missing pairs are dropped.

    Returns
    -------
    CutoffMetrics
    """
    cl = clean(marker, outcome)
    tab = tabulate(cl.marker, cl.outcome)
    tp, fp, tn, fn = confusion_at(tab, [cutoff])
    df = metrics_from_counts([cutoff], tp, fp, tn, fn, conf_level=conf_level, ci_method=ci_method)
    return _row_to_metrics(df.iloc[0])


# --- choosing a cut-off on the empirical curve -------------------------------------------------

def youden_cutoffs(tp: np.ndarray, fp: np.ndarray, m: int, n: int) -> np.ndarray:
    """Indices of all cut-offs maximising Youden's J, ascending; the first is the chosen one.

    ``J = tp/m - fp/n`` is compared exactly in integers (``tp*n - fp*m``), so ties are real ties,
    never floating-point noise.  The chosen optimum is the LOWEST tied cut-off (the highest
    sensitivity among the optima).
    """
    score = np.asarray(tp, dtype=np.int64) * int(n) - np.asarray(fp, dtype=np.int64) * int(m)
    return np.flatnonzero(score == score.max())


def target_specificity_cutoff(specificity: np.ndarray, target: float) -> int | None:
    """Index of the LOWEST cut-off whose specificity >= target (max sensitivity), or None."""
    _check_target(target, "target_specificity")
    idx = np.flatnonzero(specificity >= target - 1e-12)
    return int(idx[0]) if idx.size else None


def target_sensitivity_cutoff(sensitivity: np.ndarray, target: float) -> int | None:
    """Index of the HIGHEST cut-off whose sensitivity >= target (max specificity), or None."""
    _check_target(target, "target_sensitivity")
    idx = np.flatnonzero(sensitivity >= target - 1e-12)
    return int(idx[-1]) if idx.size else None


def _check_target(target: float, name: str) -> None:
    if not (isinstance(target, (int, float, np.floating)) and 0.0 < float(target) <= 1.0):
        raise ValueError(f"{name} must be a proportion in (0, 1], got {target!r}")


def cutoff_table(
    marker,
    outcome,
    cutoffs: Iterable[float] | None = DEFAULT_CUTOFFS,
    *,
    include_optimal: bool = True,
    target_specificity: float | None = 0.8,
    target_sensitivity: float | None = None,
    conf_level: float = 0.95,
    ci_method: str = "clopper-pearson",
) -> pd.DataFrame:
    """Table 4: accuracy of ``marker >= c`` for a list of cut-offs, each metric with its CI.

    Parameters
    ----------
    marker, outcome : array-like
        Marker (e.g. ``trough_analysis_ug_ml``) and binary outcome (True = positive class).
        Pairs with a missing value are dropped.
    cutoffs : iterable of float, optional
        Fixed cut-offs (default :data:`DEFAULT_CUTOFFS`: 3, 3.5, 4.5, 5, 5.3, 6, 8.5 ug/mL).
    include_optimal : bool
        Also add the Youden-optimal cut-off and the target-specificity / target-sensitivity
        cut-offs (when targets are given and reachable), chosen on the same data.
    target_specificity, target_sensitivity : float or None
        Targets for the extra rows (see :func:`analytics.roc.roc_analysis`).
    conf_level : float
    ci_method : {"clopper-pearson", "wilson"}
        Proportion CI method; likelihood ratios always use the log method.

    Returns
    -------
    DataFrame
        One row per cut-off, sorted by cut-off, with ``source`` ("fixed", "youden",
        "target_specificity", "target_sensitivity"; several joined by "+" when they coincide)
        followed by the columns of :class:`CutoffMetrics`: ``cutoff, rule, tp, fp, tn, fn,
        sensitivity[_ci_low|_ci_high], specificity[...], ppv[...], npv[...], youden_j,
        accuracy, lr_positive[...], lr_negative[...], lr_note, conf_level, ci_method``.
    """
    cl = clean(marker, outcome)
    tab = tabulate(cl.marker, cl.outcome)
    sources: dict[float, list[str]] = {}
    for c in (cutoffs or ()):
        c = float(c)
        if not np.isfinite(c):
            raise ValueError(f"cutoffs must be finite numbers, got {c!r}")
        sources.setdefault(c, []).append("fixed")
    if include_optimal:
        sens = tab.tp / tab.m
        spec = 1.0 - tab.fp / tab.n
        yi = youden_cutoffs(tab.tp, tab.fp, tab.m, tab.n)[0]
        sources.setdefault(float(tab.values[yi]), []).append("youden")
        if target_specificity is not None:
            k = target_specificity_cutoff(spec, target_specificity)
            if k is not None:
                sources.setdefault(float(tab.values[k]), []).append("target_specificity")
        if target_sensitivity is not None:
            k = target_sensitivity_cutoff(sens, target_sensitivity)
            if k is not None:
                sources.setdefault(float(tab.values[k]), []).append("target_sensitivity")
    cs = np.array(sorted(sources), dtype=np.float64)
    tp, fp, tn, fn = confusion_at(tab, cs)
    df = metrics_from_counts(cs, tp, fp, tn, fn, conf_level=conf_level, ci_method=ci_method)
    df.insert(0, "source", ["+".join(sources[float(c)]) for c in cs])
    return df.reset_index(drop=True)
