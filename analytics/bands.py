"""Outcome rate by marker interval: quartiles and fixed-width bands (study paper Figure 2).

Intervals are closed on the left, ``[lower, upper)``, consistent with the cut-off rule
``marker >= c``: the band ">= 8" holds exactly the patients who test positive at ``c = 8``.
The lowest interval is open below, the highest open above.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._rocbase import clean
from analytics.cutoffs import proportion_ci

__all__ = ["rate_by_bins", "rate_by_quantile", "rate_by_bands"]

BAND_COLUMNS = ("interval", "lower", "upper", "n", "n_positive", "rate", "ci_low", "ci_high")


def _fmt(v: float) -> str:
    return f"{v:g}"


def rate_by_bins(marker, outcome, edges, *, labels=None, conf_level: float = 0.95,
                 ci_method: str = "clopper-pearson") -> pd.DataFrame:
    """Outcome rate in the intervals ``(-inf, e1), [e1, e2), ..., [ek, inf)``.

    Parameters
    ----------
    marker, outcome : array-like
        Pairs with a missing value are dropped.
    edges : sequence of float
        Strictly increasing interior boundaries.
    labels : sequence of str, optional
        One per interval (default ``"<e1"``, ``"e1-<e2"``, ..., ``">=ek"``).
    conf_level : float
    ci_method : {"clopper-pearson", "wilson"}

    Returns
    -------
    DataFrame
        One row per interval (empty intervals kept, rate NaN): ``interval, lower, upper, n,
        n_positive, rate, ci_low, ci_high`` (``rate = n_positive / n`` with its CI).
    """
    edges = np.asarray(list(edges), dtype=np.float64)
    if edges.ndim != 1 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be strictly increasing finite numbers, got {edges.tolist()!r}")
    cl = clean(marker, outcome)
    idx = np.searchsorted(edges, cl.marker, side="right")  # [e_i, e_{i+1}) -> i+1
    k = edges.size + 1
    n = np.bincount(idx, minlength=k)
    pos = np.bincount(idx, weights=cl.outcome.astype(np.float64), minlength=k).astype(np.int64)
    lower = np.concatenate([[-np.inf], edges])
    upper = np.concatenate([edges, [np.inf]])
    if labels is None:
        labels = [f"<{_fmt(edges[0])}"] + [f"{_fmt(a)}-<{_fmt(b)}" for a, b in zip(edges[:-1], edges[1:])] + [
            f">={_fmt(edges[-1])}"] if edges.size else ["all"]
    labels = list(labels)
    if len(labels) != k:
        raise ValueError(f"labels must have {k} entries (one per interval), got {len(labels)}")
    lo, hi = proportion_ci(pos, n, conf_level=conf_level, method=ci_method)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, pos / np.maximum(n, 1), np.nan)
    return pd.DataFrame({"interval": labels, "lower": lower, "upper": upper, "n": n, "n_positive": pos,
                         "rate": rate, "ci_low": lo, "ci_high": hi})


def rate_by_quantile(marker, outcome, q: int = 4, *, conf_level: float = 0.95,
                     ci_method: str = "clopper-pearson") -> pd.DataFrame:
    """Outcome rate by marker quantile group (default quartiles, Figure 2A).

    Returns
    -------
    DataFrame
        As :func:`rate_by_bins`, labelled ``Q1..Qq``, plus ``quantile_group`` (1..q).

    Notes
    -----
    Boundaries are the sample quantiles ``k/q`` (linear interpolation = R ``quantile(type = 7)``,
    numpy's default) of the marker among patients with both values; groups are
    ``[b_{k-1}, b_k)``.  With ties at a boundary the groups can be unequal (tied patients are
    never split); a boundary repeated by ties yields an empty group, which is kept.
    """
    if not (isinstance(q, (int, np.integer)) and q >= 2):
        raise ValueError(f"q must be an integer >= 2, got {q!r}")
    cl = clean(marker, outcome)
    b = np.quantile(cl.marker, np.arange(1, q) / q)
    # equal boundaries from ties: nudge to keep edges strictly increasing but assign identically
    edges = b.copy()
    for i in range(1, edges.size):
        if edges[i] <= edges[i - 1]:
            edges[i] = np.nextafter(edges[i - 1], np.inf)
    out = rate_by_bins(cl.marker, cl.outcome, edges, labels=[f"Q{i}" for i in range(1, q + 1)],
                       conf_level=conf_level, ci_method=ci_method)
    out["lower"] = np.concatenate([[cl.marker.min()], b])
    out["upper"] = np.concatenate([b, [cl.marker.max()]])
    out.insert(1, "quantile_group", np.arange(1, q + 1))
    return out


def rate_by_bands(marker, outcome, width: float = 2.0, *, start: float = 2.0, top: float = 8.0,
                  conf_level: float = 0.95, ci_method: str = "clopper-pearson") -> pd.DataFrame:
    """Outcome rate by fixed-width marker bands (default 2 ug/mL: <2, 2-<4, 4-<6, 6-<8, >=8;
    Figure 2B).

    Parameters
    ----------
    width : float
        Band width.
    start, top : float
        First and last interior boundaries (``start, start+width, ..., top``).

    Returns
    -------
    DataFrame
        As :func:`rate_by_bins`.
    """
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    if top < start:
        raise ValueError(f"top must be >= start, got start={start!r}, top={top!r}")
    edges = start + width * np.arange(int(np.floor((top - start) / width + 1e-9)) + 1)
    return rate_by_bins(marker, outcome, edges, conf_level=conf_level, ci_method=ci_method)
