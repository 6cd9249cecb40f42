"""Stratified bootstrap of the optimal cut-off and of its sensitivity, specificity and the AUC.

Vectorised across resamples: the marker is sorted once; a resample is then only a vector of
counts per distinct marker value, obtained with one ``bincount`` for a whole batch of
resamples; cumulative sums along the value axis give every cut-off's confusion counts for every
resample at once.  2,000 resamples of 10,000 patients take about a second (cutpointr: ~29 s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analytics._rocbase import clean, tabulate
from analytics.cutoffs import target_specificity_cutoff, youden_cutoffs

__all__ = ["BootstrapCutoff", "bootstrap_cutoff", "METHODS"]

METHODS = ("youden", "target_specificity")
_QUANTITIES = ("cutoff", "sensitivity", "specificity", "auc")


@dataclass(frozen=True)
class BootstrapCutoff:
    """Result of :func:`bootstrap_cutoff`.

    Attributes
    ----------
    method : str
        ``"youden"`` or ``"target_specificity"``.
    target_specificity : float or None
    cutoff, sensitivity, specificity, auc : float
        Estimates on the original data.
    cutoff_ci_low, cutoff_ci_high, sensitivity_ci_low, ... auc_ci_high : float
        Percentile bootstrap CIs.
    cutoff_se, sensitivity_se, specificity_se, auc_se : float
        Bootstrap standard deviations.
    n_resamples, n_failed : int
        Resamples drawn; resamples where the target was unreachable (excluded from the CIs).
    seed : int
        The seed used (drawn and recorded when none was given).
    conf_level : float
    n_positive, n_negative : int
        Group sizes, kept fixed in every resample (stratified).
    distribution : DataFrame
        One row per resample: ``cutoff, sensitivity, specificity, auc`` (in-resample values).
    """

    method: str
    target_specificity: float | None
    cutoff: float
    cutoff_ci_low: float
    cutoff_ci_high: float
    cutoff_se: float
    sensitivity: float
    sensitivity_ci_low: float
    sensitivity_ci_high: float
    sensitivity_se: float
    specificity: float
    specificity_ci_low: float
    specificity_ci_high: float
    specificity_se: float
    auc: float
    auc_ci_low: float
    auc_ci_high: float
    auc_se: float
    n_resamples: int
    n_failed: int
    seed: int
    conf_level: float
    n_positive: int
    n_negative: int
    distribution: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per quantity with ``estimate, ci_low, ci_high, se`` and the settings."""
        rows = []
        for q in _QUANTITIES:
            rows.append({"quantity": q, "estimate": getattr(self, q), "ci_low": getattr(self, f"{q}_ci_low"),
                         "ci_high": getattr(self, f"{q}_ci_high"), "se": getattr(self, f"{q}_se"),
                         "method": self.method, "n_resamples": self.n_resamples, "n_failed": self.n_failed,
                         "seed": self.seed, "conf_level": self.conf_level})
        return pd.DataFrame(rows)

    def to_dict(self, *, include_distribution: bool = False) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "distribution"}
        if include_distribution:
            d["distribution"] = {c: self.distribution[c].tolist() for c in self.distribution.columns}
        return d


def _choose(tp, fp, observed, m, n, method, target):
    """Per row of count matrices: index of the chosen cut-off (or -1)."""
    if method == "youden":
        score = tp * n - fp * m  # exact integer J * m * n
        score = np.where(observed, score, np.iinfo(np.int64).min)
        return np.argmax(score, axis=1)  # first max = lowest cut-off
    ok = observed & ((n - fp) >= target * n - 1e-9 * n)
    idx = np.argmax(ok, axis=1)
    return np.where(ok[np.arange(ok.shape[0]), idx], idx, -1)


def bootstrap_cutoff(
    marker,
    outcome,
    *,
    method: str = "youden",
    target_specificity: float = 0.8,
    n_resamples: int = 2000,
    seed: int | None = None,
    conf_level: float = 0.95,
    batch_cells: int = 4_000_000,
) -> BootstrapCutoff:
    """Stratified bootstrap CI of the optimal cut-off and of its sensitivity and specificity.

    Parameters
    ----------
    marker, outcome : array-like
        As :func:`analytics.roc.roc_analysis` (missing pairs dropped).
    method : {"youden", "target_specificity"}
        The cut-off re-derived in every resample: Youden-optimal (lowest among ties) or the
        lowest cut-off with specificity >= ``target_specificity``.
    target_specificity : float
    n_resamples : int, default 2000
    seed : int or None
        Seed of ``numpy.random.default_rng``; when None one is drawn and recorded in the result.
    conf_level : float
    batch_cells : int
        Memory bound: resamples are processed in batches of about ``batch_cells`` matrix cells.

    Returns
    -------
    BootstrapCutoff
        Estimates, percentile CIs and bootstrap SEs of ``cutoff, sensitivity, specificity, auc``,
        the seed and the per-resample distribution.

    Notes
    -----
    Stratified: each resample draws ``m`` cases with replacement from the cases and ``n``
    controls from the controls, so group sizes are fixed (as pROC ``boot.stratified = TRUE``
    and cutpointr's default).  In each resample the cut-off is chosen among the marker values
    present in that resample by the same rule as on the original data; sensitivity and
    specificity are the in-resample values at that cut-off (as cutpointr reports).
    CIs are percentile intervals, ``quantile(type = 7)`` at ``(1 -+ conf_level)/2``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (isinstance(n_resamples, (int, np.integer)) and n_resamples >= 1):
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    if method == "target_specificity" and not 0 < target_specificity <= 1:
        raise ValueError(f"target_specificity must be a proportion in (0, 1], got {target_specificity!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = int(seed)
    rng = np.random.default_rng(seed)

    cl = clean(marker, outcome, min_per_class=2)
    tab = tabulate(cl.marker, cl.outcome)
    m, n, G = tab.m, tab.n, tab.values.size

    # estimates on the original data
    if method == "youden":
        k0 = int(youden_cutoffs(tab.tp, tab.fp, m, n)[0])
    else:
        k0 = target_specificity_cutoff(1.0 - tab.fp / n, target_specificity)
    if k0 is None:
        est = (np.nan, np.nan, np.nan)
    else:
        est = (float(tab.values[k0]), tab.tp[k0] / m, 1.0 - tab.fp[k0] / n)
    auc0 = tab.auc()

    case_g = tab.group[cl.outcome]
    ctrl_g = tab.group[~cl.outcome]
    per = max(1, int(batch_cells // (G + m + n)))
    out = np.empty((n_resamples, 4))
    done = 0
    while done < n_resamples:
        b = min(per, n_resamples - done)
        offs = (np.arange(b) * G)[:, None]
        gc = case_g[rng.integers(0, m, size=(b, m))] + offs
        gn = ctrl_g[rng.integers(0, n, size=(b, n))] + offs
        pos = np.bincount(gc.ravel(), minlength=b * G).reshape(b, G)
        neg = np.bincount(gn.ravel(), minlength=b * G).reshape(b, G)
        cpos = np.cumsum(pos, axis=1)
        cneg = np.cumsum(neg, axis=1)
        tp = m - cpos + pos  # cases with value >= values[k]
        fp = n - cneg + neg
        observed = (pos + neg) > 0
        k = _choose(tp, fp, observed, m, n, method, target_specificity)
        rows = np.arange(b)
        kk = np.maximum(k, 0)
        good = k >= 0
        res = out[done:done + b]
        res[:, 0] = np.where(good, tab.values[kk], np.nan)
        res[:, 1] = np.where(good, tp[rows, kk] / m, np.nan)
        res[:, 2] = np.where(good, 1.0 - fp[rows, kk] / n, np.nan)
        neg_below = cneg - neg
        res[:, 3] = np.einsum("ij,ij->i", pos.astype(np.float64), neg_below + 0.5 * neg) / (m * n)
        done += b

    dist = pd.DataFrame(out, columns=list(_QUANTITIES))
    a = (1 - conf_level) / 2
    fields: dict[str, float] = {}
    for q, e in zip(_QUANTITIES, (*est, auc0)):
        v = dist[q].to_numpy()
        v = v[~np.isnan(v)]
        fields[q] = float(e)
        if v.size:
            lo, hi = np.quantile(v, [a, 1 - a])
            fields[f"{q}_ci_low"], fields[f"{q}_ci_high"] = float(lo), float(hi)
            fields[f"{q}_se"] = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
        else:
            fields[f"{q}_ci_low"] = fields[f"{q}_ci_high"] = fields[f"{q}_se"] = float("nan")
    return BootstrapCutoff(
        method=method,
        target_specificity=float(target_specificity) if method == "target_specificity" else None,
        n_resamples=int(n_resamples), n_failed=int(np.isnan(out[:, 0]).sum()), seed=seed,
        conf_level=float(conf_level), n_positive=m, n_negative=n, distribution=dist, **fields,
    )
