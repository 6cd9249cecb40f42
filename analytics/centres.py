"""Per-centre ROC results, leave-one-centre-out cut-offs and between-centre AUC comparisons:
does the cut-off transfer between centres?

All tables here are *per-centre* and may hold small counts: pass them through
:func:`analytics.suppression.suppress_small_cells` before publishing.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from analytics._rocbase import as_marker, as_outcome, tabulate
from analytics.cutoffs import (
    confusion_at,
    metrics_from_counts,
    target_specificity_cutoff,
    youden_cutoffs,
)
from analytics.delong import delong_from_tabulation, delong_test_unpaired
from base.errors import AnalysisError

__all__ = ["roc_by_centre", "leave_one_centre_out", "compare_centre_aucs", "CUTOFF_METHODS"]

CUTOFF_METHODS = ("youden", "target_specificity")


def centre_frame(marker, outcome, centre) -> pd.DataFrame:
    """Marker, outcome and centre aligned, rows with any missing value dropped."""
    x = as_marker(marker)
    y = as_outcome(outcome)
    c = pd.Series(centre).to_numpy(dtype=object) if not isinstance(centre, pd.Series) else centre.to_numpy(dtype=object)
    if not (x.shape == y.shape == c.shape):
        raise AnalysisError("marker, outcome and centre must have equal lengths", code="length_mismatch")
    keep = ~(np.isnan(x) | np.isnan(y) | pd.isna(c))
    return pd.DataFrame({"marker": x[keep], "outcome": y[keep] == 1.0, "centre": c[keep]})


def _pick(tab, method: str, target: float) -> int | None:
    if method not in CUTOFF_METHODS:
        raise ValueError(f"method must be one of {CUTOFF_METHODS}, got {method!r}")
    if method == "youden":
        return int(youden_cutoffs(tab.tp, tab.fp, tab.m, tab.n)[0])
    return target_specificity_cutoff(1.0 - tab.fp / tab.n, target)


def _centre_row(label, x, y, *, target_specificity, conf_level, min_per_class) -> dict:
    m = int(y.sum())
    n = int(y.size - m)
    row = {"centre": label, "n": int(y.size), "n_positive": m, "n_negative": n}
    if m < min_per_class or n < min_per_class:
        row["note"] = f"not estimable: fewer than {min_per_class} patients with or without the outcome"
        return row
    tab = tabulate(x, y)
    d = delong_from_tabulation(tab, conf_level)
    row.update(auc=d.auc, auc_ci_low=d.ci_low, auc_ci_high=d.ci_high, p_value=d.p_value)
    ky = _pick(tab, "youden", target_specificity)
    ks = _pick(tab, "target_specificity", target_specificity)
    for name, k in (("youden", ky), ("target_specificity", ks)):
        if k is None:
            continue
        c = float(tab.values[k])
        tp, fp, tn, fn = confusion_at(tab, [c])
        row.update({f"{name}_cutoff": c, f"{name}_tp": int(tp[0]), f"{name}_fp": int(fp[0]),
                    f"{name}_tn": int(tn[0]), f"{name}_fn": int(fn[0]),
                    f"{name}_sensitivity": tp[0] / m, f"{name}_specificity": tn[0] / n})
    row["note"] = ""
    return row


def roc_by_centre(marker, outcome, centre, *, target_specificity: float = 0.8, conf_level: float = 0.95,
                  min_per_class: int = 2, include_overall: bool = True) -> pd.DataFrame:
    """ROC results per centre (and overall): AUC with DeLong CI, Youden and target cut-offs.

    Parameters
    ----------
    marker, outcome, centre : array-like
        One entry per patient; rows with any missing value are dropped.
    target_specificity : float
    conf_level : float
    min_per_class : int, default 2
        Centres with fewer patients with or without the outcome get NaN results and a note.
    include_overall : bool
        Add a first row ``centre = "all"``.

    Returns
    -------
    DataFrame
        One row per centre (sorted): ``centre, n, n_positive, n_negative, auc, auc_ci_low,
        auc_ci_high, p_value`` and for ``youden`` and ``target_specificity``: ``*_cutoff, *_tp,
        *_fp, *_tn, *_fn, *_sensitivity, *_specificity``; ``note``.
    """
    df = centre_frame(marker, outcome, centre)
    rows = []
    if include_overall:
        rows.append(_centre_row("all", df.marker.to_numpy(), df.outcome.to_numpy(),
                                target_specificity=target_specificity, conf_level=conf_level,
                                min_per_class=min_per_class))
    for c, g in sorted(df.groupby("centre", sort=False), key=lambda kv: str(kv[0])):
        rows.append(_centre_row(c, g.marker.to_numpy(), g.outcome.to_numpy(),
                                target_specificity=target_specificity, conf_level=conf_level,
                                min_per_class=min_per_class))
    cols = ["centre", "n", "n_positive", "n_negative", "auc", "auc_ci_low", "auc_ci_high", "p_value"]
    for name in ("youden", "target_specificity"):
        cols += [f"{name}_{k}" for k in ("cutoff", "tp", "fp", "tn", "fn", "sensitivity", "specificity")]
    cols.append("note")
    out = pd.DataFrame(rows)
    return out.reindex(columns=cols)


def leave_one_centre_out(marker, outcome, centre, *, method: str = "youden", target_specificity: float = 0.8,
                         conf_level: float = 0.95, ci_method: str = "clopper-pearson") -> pd.DataFrame:
    """Leave-one-centre-out: derive the cut-off without a centre, apply it to that centre.

    Parameters
    ----------
    marker, outcome, centre : array-like
    method : {"youden", "target_specificity"}
    target_specificity : float
    conf_level : float
    ci_method : {"clopper-pearson", "wilson"}

    Returns
    -------
    DataFrame
        One row per held-out centre: ``centre, n, n_positive, n_negative``;
        ``cutoff_all`` (all centres), ``cutoff_without`` (derived on the other centres),
        ``cutoff_shift = cutoff_without - cutoff_all``, ``cutoff_own`` (derived within the
        centre, NaN when not estimable); ``tp, fp, tn, fn, sensitivity, specificity, ppv,
        npv`` with ``*_ci_low/_ci_high`` of ``marker >= cutoff_without`` **in the held-out
        centre**, and ``own_tp, own_fp, own_tn, own_fn, own_sensitivity, own_specificity`` at
        ``cutoff_own`` for comparison (``<NA>``/NaN when not estimable).

    Notes
    -----
    If the held-out sensitivity/specificity CIs cover the values the cut-off was tuned for, and
    ``cutoff_shift`` is small compared with the bootstrap CI of the overall cut-off, the cut-off
    transfers.  A centre with only one class still gets its held-out counts (one of sensitivity
    or specificity is then NaN).
    """
    if method not in CUTOFF_METHODS:
        raise ValueError(f"method must be one of {CUTOFF_METHODS}, got {method!r}")
    df = centre_frame(marker, outcome, centre)
    if df.centre.nunique() < 2:
        raise AnalysisError("leave-one-centre-out needs at least 2 centres", code="too_few_centres")
    x_all, y_all = df.marker.to_numpy(), df.outcome.to_numpy()
    if y_all.all() or not y_all.any():
        raise AnalysisError("the outcome has one class only", code="one_class_only")
    k_all = _pick(tabulate(x_all, y_all), method, target_specificity)
    cut_all = float(tabulate(x_all, y_all).values[k_all]) if k_all is not None else np.nan
    rows = []
    for c in sorted(df.centre.unique(), key=str):
        held = (df.centre == c).to_numpy()
        xt, yt = x_all[~held], y_all[~held]
        xh, yh = x_all[held], y_all[held]
        row = {"centre": c, "n": int(held.sum()), "n_positive": int(yh.sum()), "n_negative": int((~yh).sum()),
               "cutoff_all": cut_all}
        if yt.all() or not yt.any():
            row["cutoff_without"] = np.nan
        else:
            tt = tabulate(xt, yt)
            k = _pick(tt, method, target_specificity)
            row["cutoff_without"] = float(tt.values[k]) if k is not None else np.nan
        row["cutoff_shift"] = row["cutoff_without"] - cut_all
        th = tabulate(xh, yh)
        if th.m > 0 and th.n > 0:
            k = _pick(th, method, target_specificity)
            own = float(th.values[k]) if k is not None else np.nan
        else:
            own = np.nan
        row["cutoff_own"] = own
        tp, fp, tn, fn = confusion_at(th, [row["cutoff_without"]]) if np.isfinite(row["cutoff_without"]) \
            else (np.array([0]), np.array([0]), np.array([th.n]), np.array([th.m]))
        met = metrics_from_counts([row["cutoff_without"]], tp, fp, tn, fn, conf_level=conf_level,
                                  ci_method=ci_method).iloc[0]
        for k in ("tp", "fp", "tn", "fn"):
            row[k] = int(met[k])
        for k in ("sensitivity", "specificity", "ppv", "npv"):
            row[k], row[f"{k}_ci_low"], row[f"{k}_ci_high"] = met[k], met[f"{k}_ci_low"], met[f"{k}_ci_high"]
        if np.isfinite(own):
            tpo, fpo, tno, fno = confusion_at(th, [own])
            row.update(own_tp=int(tpo[0]), own_fp=int(fpo[0]), own_tn=int(tno[0]), own_fn=int(fno[0]),
                       own_sensitivity=tpo[0] / th.m, own_specificity=tno[0] / th.n)
        else:
            row.update(own_tp=pd.NA, own_fp=pd.NA, own_tn=pd.NA, own_fn=pd.NA,
                       own_sensitivity=np.nan, own_specificity=np.nan)
        rows.append(row)
    out = pd.DataFrame(rows)
    for c in ("own_tp", "own_fp", "own_tn", "own_fn"):
        out[c] = out[c].astype("Int64")
    out.insert(1, "method", method)
    return out


def compare_centre_aucs(marker, outcome, centre, *, conf_level: float = 0.95, min_per_class: int = 2) -> pd.DataFrame:
    """Pairwise unpaired DeLong tests of the AUC between centres (Holm-adjusted).

    Returns
    -------
    DataFrame
        One row per pair of estimable centres: ``centre1, centre2, auc1, auc2, difference, se,
        ci_low, ci_high, z, df, p_value, p_value_holm``.  ``z`` is pROC's ``D`` statistic,
        referred to Student t with Welch-Satterthwaite ``df`` (see
        :func:`analytics.delong.delong_test_unpaired`); ``p_value_holm`` is Holm's step-down
        adjustment over all pairs.
    """
    df = centre_frame(marker, outcome, centre)
    ok = []
    for c, g in sorted(df.groupby("centre", sort=False), key=lambda kv: str(kv[0])):
        m = int(g.outcome.sum())
        if m >= min_per_class and len(g) - m >= min_per_class:
            ok.append((c, g))
    rows = []
    for (c1, g1), (c2, g2) in itertools.combinations(ok, 2):
        t = delong_test_unpaired(g1.marker, g1.outcome, g2.marker, g2.outcome, conf_level=conf_level)
        rows.append({"centre1": c1, "centre2": c2, "auc1": t.auc1, "auc2": t.auc2, "difference": t.difference,
                     "se": t.se, "ci_low": t.ci_low, "ci_high": t.ci_high, "z": t.z, "df": t.df,
                     "p_value": t.p_value})
    out = pd.DataFrame(rows, columns=["centre1", "centre2", "auc1", "auc2", "difference", "se", "ci_low",
                                      "ci_high", "z", "df", "p_value"])
    out["p_value_holm"] = _holm(out.p_value.to_numpy()) if len(out) else []
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    k = p.size
    order = np.argsort(p)
    adj = np.maximum.accumulate((k - np.arange(k)) * p[order])
    out = np.empty(k)
    out[order] = np.minimum(adj, 1.0)
    return out
