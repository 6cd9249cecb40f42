"""Random-effects meta-analysis: between-centre heterogeneity of the AUC.

Each centre's AUC (with its DeLong variance) is one "study"; the random-effects model
``y_i = mu + u_i + e_i``, ``u_i ~ N(0, tau^2)``, ``e_i ~ N(0, v_i)`` gives the pooled AUC, the
between-centre variance ``tau^2``, Cochran's ``Q``, ``I^2`` and a prediction interval for the
AUC of a new centre.  The formulas and defaults are those of R ``metafor::rma(yi, vi, method =
"DL" | "REML")`` and ``predict()`` (Viechtbauer 2010), so the results can be checked there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analytics._rocbase import tabulate
from analytics.centres import centre_frame
from analytics.delong import delong_from_tabulation
from base.errors import AnalysisError

__all__ = ["MetaAnalysis", "random_effects", "centre_auc_meta", "TAU2_METHODS", "PI_METHODS"]

TAU2_METHODS = ("REML", "DL")
#: "z": metafor's default ``predict()`` (normal quantile); "t": Higgins, Thompson & Spiegelhalter
#: (2009) / Riley et al. (2011), t on k - 2 df (metafor ``predict(..., pi.type = "Riley")``).
PI_METHODS = ("z", "t")


@dataclass(frozen=True)
class MetaAnalysis:
    """A random-effects meta-analysis.

    Attributes
    ----------
    method : "REML" or "DL" (estimator of tau^2).
    k : number of studies (centres) pooled.
    estimate, se, ci_low, ci_high, z, p_value : pooled mean, its SE, Wald CI and z-test of 0
        (``p_value`` tests ``estimate = null_value``).
    tau2, tau : between-study variance and SD.
    q, q_df, q_p_value : Cochran's Q (inverse-variance weights), ``k - 1`` df, chi-square p.
    i2_percent, h2 : ``I^2 = 100 tau^2 / (tau^2 + s^2)`` and ``H^2 = (tau^2 + s^2) / s^2`` with
        ``s^2`` the typical within-study variance (metafor's definitions).
    pi_low, pi_high, pi_method : prediction interval for a new study's true value.
    conf_level, null_value : settings.
    studies : DataFrame, one row per study given: ``study, estimate, variance, se, ci_low,
        ci_high, weight_percent, included, note`` (plus any columns the caller added).
    """

    method: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    tau2: float
    tau: float
    q: float
    q_df: int
    q_p_value: float
    i2_percent: float
    h2: float
    pi_low: float
    pi_high: float
    pi_method: str
    conf_level: float
    null_value: float
    studies: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "studies"}

    def to_frame(self) -> pd.DataFrame:
        """One row: every scalar field (the pooled result)."""
        return pd.DataFrame([self.to_dict()])


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / v
    mu = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, (q - (len(y) - 1)) / c)


def _reml_score(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """d/d tau^2 of the REML log-likelihood, times 2: ``y'PPy - tr(P)``."""
    w = 1.0 / (v + tau2)
    sw = np.sum(w)
    mu = np.sum(w * y) / sw
    r = y - mu
    # P = W - w w'/sw  =>  P y = w r,  tr(P) = sum w - sum w^2 / sw
    return float(np.sum((w * r) ** 2) - (sw - np.sum(w**2) / sw))


def _reml_loglik(tau2: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Restricted log-likelihood (up to a constant) at each ``tau2`` (vectorised)."""
    w = 1.0 / (v[None, :] + np.asarray(tau2, dtype=float)[:, None])
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    return -0.5 * (np.log(1 / w).sum(axis=1) + np.log(sw) + (w * (y - mu[:, None]) ** 2).sum(axis=1))


def _tau2_reml(y: np.ndarray, v: np.ndarray) -> float:
    """REML estimate: the global maximiser of the restricted likelihood on ``[0, inf)``.

    The restricted likelihood can have a local maximum at 0 and a higher one inside (a precise
    study far from the rest), so a score root found from 0 is not enough: a log-spaced grid of
    600 values up to ``100 (var(y) + max v)`` locates the global maximum, and the score's root
    in the neighbouring bracket refines it (as metafor's Fisher scoring, started from the Hedges
    estimate, finds it).
    """
    top = 100.0 * (np.var(y, ddof=1) + float(np.max(v)))
    grid = np.concatenate([[0.0], np.geomspace(top * 1e-12, top, 600)])
    i = int(np.argmax(_reml_loglik(grid, y, v)))
    if i == 0 and _reml_score(0.0, y, v) <= 0:
        return 0.0
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if _reml_score(hi, y, v) > 0:  # still rising at the grid's end: widen
        while _reml_score(hi, y, v) > 0:
            lo, hi = hi, hi * 4
    return float(optimize.brentq(_reml_score, lo, hi, args=(y, v), xtol=1e-15, rtol=1e-14, maxiter=500))


def random_effects(estimates, variances, *, method: str = "REML", labels=None, conf_level: float = 0.95,
                   pi_method: str = "z", null_value: float = 0.0) -> MetaAnalysis:
    """Random-effects meta-analysis of study estimates with known within-study variances.

    Parameters
    ----------
    estimates, variances : array-like of float, one per study (variances > 0).
    method : {"REML", "DL"}
        Estimator of tau^2: restricted maximum likelihood (metafor's default) or
        DerSimonian-Laird.
    labels : study names (default 1..k).
    conf_level : level of the CI and of the prediction interval.
    pi_method : {"z", "t"}, see :data:`PI_METHODS`.
    null_value : the value the z-test compares the pooled mean with (0.5 for an AUC).

    Returns
    -------
    MetaAnalysis

    Raises
    ------
    ValueError
        unknown method; fewer than 2 studies; lengths differ; a non-finite estimate or a
        variance that is not positive (a centre whose AUC has DeLong variance 0 must be left out
        by the caller, as :func:`centre_auc_meta` does).

    Notes
    -----
    ``w_i = 1/v_i``; ``Q = sum w_i (y_i - y_FE)^2``;
    DL: ``tau^2 = max(0, (Q - (k-1)) / (sum w - sum w^2 / sum w))``;
    REML: the global maximiser on ``[0, inf)`` of the restricted likelihood, a root of
    ``y'PPy - tr(P) = 0`` with ``P = W - W 1 (1'W1)^-1 1'W``, ``W = diag(1/(v_i + tau^2))``, or 0;
    ``mu = sum w*_i y_i / sum w*_i``, ``w*_i = 1/(v_i + tau^2)``, ``SE = (sum w*)^-1/2``;
    ``s^2 = (k-1) sum w / ((sum w)^2 - sum w^2)``, ``I^2 = 100 tau^2/(tau^2 + s^2)``;
    prediction interval ``mu -+ c sqrt(SE^2 + tau^2)`` with ``c = z_{1-a/2}`` (metafor
    ``predict.rma``) or ``t_{k-2, 1-a/2}`` (``pi_method="t"``).
    """
    if method not in TAU2_METHODS:
        raise ValueError(f"method must be one of {TAU2_METHODS}, got {method!r}")
    if pi_method not in PI_METHODS:
        raise ValueError(f"pi_method must be one of {PI_METHODS}, got {pi_method!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError(f"estimates and variances must be 1-D of equal length, got {y.shape} and {v.shape}")
    k = y.size
    if k < 2:
        raise ValueError(f"a meta-analysis needs at least 2 studies, got {k}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("every estimate must be finite and every variance finite and > 0")
    if pi_method == "t" and k < 3:
        raise ValueError("pi_method='t' needs at least 3 studies (t on k - 2 df)")
    labels = list(range(1, k + 1)) if labels is None else list(labels)

    w = 1.0 / v
    mu_fe = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu_fe) ** 2))
    tau2 = _tau2_dl(y, v) if method == "DL" else _tau2_reml(y, v)
    ws = 1.0 / (v + tau2)
    mu = float(np.sum(ws * y) / np.sum(ws))
    se = float(math.sqrt(1.0 / np.sum(ws)))
    zc = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    z = (mu - null_value) / se
    s2 = (k - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    crit = zc if pi_method == "z" else float(stats.t.ppf(1 - (1 - conf_level) / 2, k - 2))
    half = crit * math.sqrt(se**2 + tau2)
    studies = pd.DataFrame({
        "study": labels, "estimate": y, "variance": v, "se": np.sqrt(v),
        "ci_low": y - zc * np.sqrt(v), "ci_high": y + zc * np.sqrt(v),
        "weight_percent": 100 * ws / np.sum(ws), "included": True, "note": "",
    })
    return MetaAnalysis(
        method=method, k=k, estimate=mu, se=se, ci_low=mu - zc * se, ci_high=mu + zc * se, z=float(z),
        p_value=float(2 * stats.norm.sf(abs(z))), tau2=float(tau2), tau=float(math.sqrt(tau2)), q=q, q_df=k - 1,
        q_p_value=float(stats.chi2.sf(q, k - 1)), i2_percent=float(100 * tau2 / (tau2 + s2)),
        h2=float((tau2 + s2) / s2), pi_low=mu - half, pi_high=mu + half, pi_method=pi_method,
        conf_level=float(conf_level), null_value=float(null_value), studies=studies,
    )


def centre_auc_meta(marker, outcome, centre, *, method: str = "REML", conf_level: float = 0.95,
                    pi_method: str = "z", min_per_class: int = 2) -> MetaAnalysis:
    """Per-centre AUCs (DeLong variances) pooled by a random-effects meta-analysis.

    Parameters
    ----------
    marker, outcome, centre : array-like, one entry per patient (rows with a missing value dropped).
    method, conf_level, pi_method : as :func:`random_effects`.
    min_per_class : centres with fewer patients with or without the outcome are listed but not pooled.

    Returns
    -------
    MetaAnalysis
        ``studies`` has one row per centre (sorted) with ``study`` (the centre), ``n, n_positive,
        n_negative``, the AUC as ``estimate`` with its DeLong ``variance``, ``se`` and (truncated
        to [0, 1]) CI, ``weight_percent``, ``included`` and ``note`` (why a centre was left out:
        too few patients, or DeLong variance 0 when its classes are perfectly separated).  The
        z-test compares the pooled AUC with 0.5.  The pooled CI and the prediction interval are
        computed on the AUC scale (as ``metafor::rma`` on the AUCs) and truncated to [0, 1].

    Raises
    ------
    base.errors.AnalysisError
        fewer than 2 centres can be pooled (code ``too_few_centres``).
    """
    df = centre_frame(marker, outcome, centre)
    rows = []
    for c, g in sorted(df.groupby("centre", sort=False), key=lambda kv: str(kv[0])):
        yv = g.outcome.to_numpy()
        m = int(yv.sum())
        n = int(yv.size - m)
        row = {"study": c, "n": int(yv.size), "n_positive": m, "n_negative": n, "estimate": math.nan,
               "variance": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "included": False}
        if m < min_per_class or n < min_per_class:
            row["note"] = f"not pooled: fewer than {min_per_class} patients with or without the outcome"
        else:
            d = delong_from_tabulation(tabulate(g.marker.to_numpy(), yv), conf_level)
            row.update(estimate=d.auc, variance=d.variance, se=d.se, ci_low=d.ci_low, ci_high=d.ci_high)
            if d.variance > 0:
                row.update(included=True, note="")
            else:
                row["note"] = "not pooled: DeLong variance 0 (the centre's classes are perfectly separated)"
        rows.append(row)
    table = pd.DataFrame(rows, columns=["study", "n", "n_positive", "n_negative", "estimate", "variance", "se",
                                        "ci_low", "ci_high", "included", "note"])
    use = table[table.included.astype(bool)]
    if len(use) < 2:
        raise AnalysisError(f"a between-centre meta-analysis needs at least 2 centres with an AUC variance; "
                            f"got {len(use)} of {len(table)}", code="too_few_centres")
    res = random_effects(use.estimate, use.variance, method=method, labels=use.study, conf_level=conf_level,
                         pi_method=pi_method, null_value=0.5)
    weights = dict(zip(res.studies.study, res.studies.weight_percent))
    table["weight_percent"] = table.study.map(weights).astype(float)
    table = table[["study", "n", "n_positive", "n_negative", "estimate", "variance", "se", "ci_low", "ci_high",
                   "weight_percent", "included", "note"]]
    # An AUC lies in [0, 1]: the pooled CI and the prediction interval, computed on the AUC scale as
    # metafor does, are truncated to it, as each centre's CI is (a PI of 0.08-1.25 reads 0.08-1).
    bounded = {f: min(max(getattr(res, f), 0.0), 1.0) for f in ("ci_low", "ci_high", "pi_low", "pi_high")}
    return MetaAnalysis(**{**res.to_dict(), **bounded, "studies": table})
