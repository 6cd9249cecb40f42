"""ROC analysis of a marker against a binary outcome: the empirical curve, AUC with DeLong CI,
Youden-optimal and target-specificity/sensitivity cut-offs (study paper 2.2, 3.4-3.5, Fig. 3).

Conventions (fixed and stated, never guessed from the data):

* positive class = ``outcome == True`` (1); higher marker predicts the positive outcome;
* a patient tests positive at cut-off ``c`` when ``marker >= c``; ``c`` is an observed value;
* AUC counts ties between a case and a control as 1/2 (Mann-Whitney);
* ties in the marker are exact: a group of equal values is never split by a cut-off;
* Youden: maximise ``J = sens + spec - 1`` over observed values; ties in ``J`` go to the LOWEST
  cut-off (highest sensitivity); every tied optimum is reported in ``youden_ties``;
* target specificity: LOWEST cut-off with ``spec >= target``; target sensitivity: HIGHEST
  cut-off with ``sens >= target``.

Mapping to R pROC (``roc(outcome, marker, levels = c(FALSE, TRUE), direction = "<")``): pROC's
thresholds are midpoints between successive distinct values; its threshold ``t`` corresponds to
our ``c`` = the smallest observed value above ``t`` (pROC ``-Inf`` = our lowest value, pROC ``Inf``
= our ``+inf``).  Sensitivities and specificities are identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics._rocbase import Tabulation, clean, tabulate
from analytics.cutoffs import (
    CutoffMetrics,
    _row_to_metrics,
    confusion_at,
    metrics_from_counts,
    target_sensitivity_cutoff,
    target_specificity_cutoff,
    youden_cutoffs,
)
from analytics.delong import delong_from_tabulation

__all__ = ["RocResult", "roc_analysis", "roc_curve", "auc_score", "CURVE_COLUMNS"]

#: Columns of :attr:`RocResult.curve` / :func:`roc_curve`.
CURVE_COLUMNS = ("cutoff", "tp", "fp", "tn", "fn", "sensitivity", "specificity", "youden_j")


@dataclass(frozen=True)
class RocResult:
    """Result of :func:`roc_analysis`.

    Attributes
    ----------
    auc, se, ci_low, ci_high, z, p_value : float
        AUC with DeLong SE and CI (truncated to [0, 1], as pROC); z-test of AUC = 0.5.
    conf_level : float
    n, n_positive, n_negative, n_dropped : int
        Patients used, with/without the outcome, and pairs dropped for a missing value.
    curve : DataFrame
        One row per candidate cut-off (each distinct observed value ascending, then ``+inf``):
        ``cutoff, tp, fp, tn, fn, sensitivity, specificity, youden_j``.
    youden : CutoffMetrics
        Metrics (with CIs) at the Youden-optimal cut-off (lowest among ties).
    youden_ties : tuple of float
        Every cut-off attaining the maximal J (the first is ``youden.cutoff``).
    target_specificity, target_sensitivity : CutoffMetrics or None
        At the target cut-offs; None when no target was requested or none is reachable.
    target_specificity_level, target_sensitivity_level : float or None
        The targets requested.
    marker_name, outcome_name : str
    ci_method : str
        Proportion CI method of the cut-off metrics.
    """

    auc: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    conf_level: float
    n: int
    n_positive: int
    n_negative: int
    n_dropped: int
    curve: pd.DataFrame = field(repr=False)
    youden: CutoffMetrics
    youden_ties: tuple[float, ...]
    target_specificity: CutoffMetrics | None
    target_sensitivity: CutoffMetrics | None
    target_specificity_level: float | None
    target_sensitivity_level: float | None
    marker_name: str = "marker"
    outcome_name: str = "outcome"
    ci_method: str = "clopper-pearson"

    def summary(self) -> dict:
        """Scalar results (AUC row) as a dict."""
        return {
            "marker": self.marker_name,
            "outcome": self.outcome_name,
            "n": self.n,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            "n_dropped": self.n_dropped,
            "auc": self.auc,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "z": self.z,
            "p_value": self.p_value,
            "conf_level": self.conf_level,
        }

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: the AUC summary plus ``youden_*`` / ``target_specificity_*`` /
        ``target_sensitivity_*`` cut-off, sensitivity, specificity, ppv, npv."""
        row = self.summary()
        for name in ("youden", "target_specificity", "target_sensitivity"):
            cm = getattr(self, name)
            for k in ("cutoff", "sensitivity", "specificity", "ppv", "npv"):
                row[f"{name}_{k}"] = getattr(cm, k) if cm is not None else np.nan
        row["youden_n_ties"] = len(self.youden_ties)
        return pd.DataFrame([row])

    def cutoffs_frame(self) -> pd.DataFrame:
        """The chosen cut-offs (Youden, targets) as rows of full :class:`CutoffMetrics`."""
        rows = []
        for name in ("youden", "target_specificity", "target_sensitivity"):
            cm = getattr(self, name)
            if cm is not None:
                rows.append({"source": name, **cm.to_dict()})
        return pd.DataFrame(rows)

    def to_dict(self, *, include_curve: bool = True) -> dict:
        """Everything as plain Python types (JSON-ready; inf/NaN kept as floats)."""
        d = self.summary()
        d["youden"] = self.youden.to_dict()
        d["youden_ties"] = list(self.youden_ties)
        d["target_specificity_level"] = self.target_specificity_level
        d["target_specificity"] = None if self.target_specificity is None else self.target_specificity.to_dict()
        d["target_sensitivity_level"] = self.target_sensitivity_level
        d["target_sensitivity"] = None if self.target_sensitivity is None else self.target_sensitivity.to_dict()
        d["ci_method"] = self.ci_method
        if include_curve:
            d["curve"] = {c: self.curve[c].tolist() for c in self.curve.columns}
        return d


def _curve_from_tab(tab: Tabulation) -> pd.DataFrame:
    tp = np.append(tab.tp, 0)
    fp = np.append(tab.fp, 0)
    return pd.DataFrame(
        {
            "cutoff": np.append(tab.values, np.inf),
            "tp": tp,
            "fp": fp,
            "tn": tab.n - fp,
            "fn": tab.m - tp,
            "sensitivity": tp / tab.m,
            "specificity": (tab.n - fp) / tab.n,
            "youden_j": tp / tab.m - fp / tab.n,
        }
    )


def roc_curve(marker, outcome) -> pd.DataFrame:
    """The empirical ROC curve: confusion counts of ``marker >= c`` at every observed value.

    Returns
    -------
    DataFrame
        ``cutoff, tp, fp, tn, fn, sensitivity, specificity, youden_j``; cut-offs ascending
        (sensitivity non-increasing), the last row ``cutoff = +inf`` (nobody test-positive).

    Notes
    -----
    One sort, then reverse cumulative sums of the positives/negatives per distinct value:
    ``tp(c_k) = sum_{l >= k} pos_l``, ``fp(c_k) = sum_{l >= k} neg_l``.
    """
    cl = clean(marker, outcome)
    return _curve_from_tab(tabulate(cl.marker, cl.outcome))


def auc_score(marker, outcome) -> float:
    """Mann-Whitney AUC (ties 1/2): ``P(X > Y) + P(X = Y)/2`` for a case X and a control Y."""
    cl = clean(marker, outcome)
    return tabulate(cl.marker, cl.outcome).auc()


def roc_analysis(
    marker,
    outcome,
    *,
    target_specificity: float | None = 0.8,
    target_sensitivity: float | None = None,
    conf_level: float = 0.95,
    ci_method: str = "clopper-pearson",
    marker_name: str | None = None,
    outcome_name: str | None = None,
) -> RocResult:
    """ROC analysis of ``marker`` for ``outcome``: AUC with DeLong CI, curve and cut-offs.

    Parameters
    ----------
    marker : array-like of float
        E.g. ``trough_analysis_ug_ml``.  Higher values predict the positive outcome.
    outcome : array-like of bool / 0-1 / "yes"/"no"
        True = positive class (e.g. ``mucosal_healing``).  Pairs with a missing marker or
        outcome are dropped and counted in ``n_dropped``.
    target_specificity : float or None, default 0.8
        Report the lowest cut-off with specificity >= this (None to skip).
    target_sensitivity : float or None
        Report the highest cut-off with sensitivity >= this (None to skip).
    conf_level : float, default 0.95
    ci_method : {"clopper-pearson", "wilson"}
        CI method for sensitivity, specificity, PPV, NPV.
    marker_name, outcome_name : str, optional
        Labels carried into the result (default: the Series names or "marker"/"outcome").

    Returns
    -------
    RocResult
        See :class:`RocResult` for every field.

    Raises
    ------
    base.errors.AnalysisError
        Fewer than 2 patients with or without the outcome after dropping missing values, a
        non-numeric marker or a non-binary outcome.
    ValueError
        Invalid ``conf_level``, ``ci_method`` or target.

    Notes
    -----
    ``sens(c) = TP/(TP+FN)``, ``spec(c) = TN/(TN+FP)``, ``J(c) = sens + spec - 1``.
    AUC, SE and CI: see :func:`analytics.delong.delong_auc`.  Cut-off metrics and CIs: see
    :func:`analytics.cutoffs.metrics_from_counts`.
    """
    marker_name = marker_name or getattr(marker, "name", None) or "marker"
    outcome_name = outcome_name or getattr(outcome, "name", None) or "outcome"
    cl = clean(marker, outcome, min_per_class=2, marker_name=str(marker_name), outcome_name=str(outcome_name))
    tab = tabulate(cl.marker, cl.outcome)
    d = delong_from_tabulation(tab, conf_level)
    curve = _curve_from_tab(tab)

    ties = youden_cutoffs(tab.tp, tab.fp, tab.m, tab.n)
    spec = 1.0 - tab.fp / tab.n
    sens = tab.tp / tab.m
    ks = target_specificity_cutoff(spec, target_specificity) if target_specificity is not None else None
    ke = target_sensitivity_cutoff(sens, target_sensitivity) if target_sensitivity is not None else None
    chosen = [float(tab.values[ties[0]])]
    chosen += [float(tab.values[k]) for k in (ks, ke) if k is not None]
    tp, fp, tn, fn = confusion_at(tab, chosen)
    mdf = metrics_from_counts(chosen, tp, fp, tn, fn, conf_level=conf_level, ci_method=ci_method)
    mets = [_row_to_metrics(r) for _, r in mdf.iterrows()]
    youden = mets.pop(0)
    tspec = mets.pop(0) if ks is not None else None
    tsens = mets.pop(0) if ke is not None else None

    return RocResult(
        auc=d.auc, se=d.se, ci_low=d.ci_low, ci_high=d.ci_high, z=d.z, p_value=d.p_value,
        conf_level=float(conf_level), n=tab.m + tab.n, n_positive=tab.m, n_negative=tab.n,
        n_dropped=cl.n_dropped, curve=curve, youden=youden,
        youden_ties=tuple(float(v) for v in tab.values[ties]),
        target_specificity=tspec, target_sensitivity=tsens,
        target_specificity_level=None if target_specificity is None else float(target_specificity),
        target_sensitivity_level=None if target_sensitivity is None else float(target_sensitivity),
        marker_name=str(marker_name), outcome_name=str(outcome_name), ci_method=ci_method,
    )
