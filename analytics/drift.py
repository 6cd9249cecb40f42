"""Drift of a cut-off between successive publications.

A publication freezes the cut-off with its bootstrap CI; as data accrue the cut-off moves.
:func:`cutoff_drift` lines the publications up and says, for each, how far the cut-off moved and
whether the new value falls outside the previous publication's bootstrap CI.
:func:`cutoff_history` turns one publication's ROC summary and bootstrap table into history rows;
:func:`publication_drift` compares the publication being built with the earlier ones.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["cutoff_drift", "cutoff_history", "publication_drift", "DRIFT_INPUT_COLUMNS", "DRIFT_METHODS",
           "CUTOFF_HISTORY_COLUMNS", "PUBLICATION_DRIFT_COLUMNS"]

#: The cut-off methods whose drift is reported (``roc_summary`` column prefixes, ``bootstrap_cutoffs.method``).
DRIFT_METHODS = ("youden", "target_specificity")
CUTOFF_HISTORY_COLUMNS = ("publication_id", "created_at", "outcome", "method", "target_specificity", "cutoff",
                          "ci_low", "ci_high", "n", "auc")
PUBLICATION_DRIFT_COLUMNS = (
    "outcome", "method", "target_specificity", "previous_publication_id", "previous_created_at",
    "previous_cutoff", "previous_ci_low", "previous_ci_high", "cutoff", "ci_low", "ci_high", "change",
    "relative_change", "outside_previous_ci", "ci_overlap", "previous_n", "n", "previous_auc", "auc")

DRIFT_INPUT_COLUMNS = ("publication_id", "created_at", "cutoff", "ci_low", "ci_high")


def cutoff_drift(history: pd.DataFrame, *, group_by: str | list[str] | None = None) -> pd.DataFrame:
    """Change of the cut-off versus the previous publication.

    Parameters
    ----------
    history : DataFrame
        One row per publication: ``publication_id, created_at, cutoff, ci_low, ci_high``
        (the bootstrap CI of the cut-off; may be missing).  Extra columns are kept.
    group_by : str or list of str, optional
        Columns identifying separate series (e.g. ``["marker", "outcome", "method"]``); drift is
        computed within each series.

    Returns
    -------
    DataFrame
        Sorted by ``created_at`` (then ``publication_id``) within series, with added columns
        ``previous_publication_id, previous_cutoff, previous_ci_low, previous_ci_high, change``
        (``cutoff - previous_cutoff``), ``relative_change`` (``change / previous_cutoff``),
        ``outside_previous_ci`` (nullable boolean: the new cut-off lies outside
        ``[previous_ci_low, previous_ci_high]``; ``<NA>`` for the first publication or when the
        previous CI is missing) and ``ci_overlap`` (nullable boolean: the two CIs overlap).
    """
    missing = [c for c in DRIFT_INPUT_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s) {missing}; required columns are {list(DRIFT_INPUT_COLUMNS)}")
    keys = [group_by] if isinstance(group_by, str) else list(group_by or [])
    for k in keys:
        if k not in history.columns:
            raise ValueError(f"group_by column {k!r} not in history; columns are {list(history.columns)}")
    df = history.copy()
    df["created_at"] = pd.to_datetime(df["created_at"])
    df = df.sort_values([*keys, "created_at", "publication_id"], kind="stable").reset_index(drop=True)
    for c in ("cutoff", "ci_low", "ci_high"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    g = df.groupby(keys, sort=False, dropna=False) if keys else None

    def prev(col):
        return g[col].shift(1) if g is not None else df[col].shift(1)

    df["previous_publication_id"] = prev("publication_id")
    df["previous_cutoff"] = prev("cutoff")
    df["previous_ci_low"] = prev("ci_low")
    df["previous_ci_high"] = prev("ci_high")
    df["change"] = df["cutoff"] - df["previous_cutoff"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["relative_change"] = df["change"] / df["previous_cutoff"]
    known = df["previous_ci_low"].notna() & df["previous_ci_high"].notna() & df["cutoff"].notna()
    outside = (df["cutoff"] < df["previous_ci_low"]) | (df["cutoff"] > df["previous_ci_high"])
    df["outside_previous_ci"] = pd.array(np.where(known, outside, False), dtype="boolean")
    df.loc[~known, "outside_previous_ci"] = pd.NA
    known2 = known & df["ci_low"].notna() & df["ci_high"].notna()
    overlap = (df["ci_low"] <= df["previous_ci_high"]) & (df["previous_ci_low"] <= df["ci_high"])
    df["ci_overlap"] = pd.array(np.where(known2, overlap, False), dtype="boolean")
    df.loc[~known2, "ci_overlap"] = pd.NA
    return df


def _naive_utc(t) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def cutoff_history(roc_summary: pd.DataFrame, bootstrap_cutoffs: pd.DataFrame | None, *, publication_id: str,
                   created_at, target_specificity: float | None,
                   bootstrap_outcome: str = "mucosal_healing") -> pd.DataFrame:
    """One publication's cut-offs as drift-history rows (pure).

    Parameters
    ----------
    roc_summary : the publication's ``roc_summary`` table (``outcome``, ``n``, ``auc``,
        ``youden_cutoff``, ``target_specificity_cutoff``).
    bootstrap_cutoffs : its ``bootstrap_cutoffs`` table (``outcome``, ``method``,
        ``cutoff_ci_low``, ``cutoff_ci_high``) or None.  Publications made before every outcome
        was bootstrapped have no ``outcome`` column: their rows are ``bootstrap_outcome``'s.
    publication_id, created_at : the publication (``created_at`` is stored as naive UTC).
    target_specificity : the publication's target specificity (part of the series key of the
        target-specificity cut-off: cut-offs for different targets are not compared).
    bootstrap_outcome : the outcome of a bootstrap table without an ``outcome`` column.

    Returns
    -------
    DataFrame
        One row per outcome and method (:data:`DRIFT_METHODS`): ``publication_id, created_at,
        outcome, method, target_specificity`` (NaN for Youden), ``cutoff, ci_low, ci_high``
        (the bootstrap CI; NaN when none was published), ``n, auc``.
    """
    ci: dict[tuple[str, str], tuple[float, float]] = {}
    if bootstrap_cutoffs is not None and len(bootstrap_cutoffs) and "method" in bootstrap_cutoffs.columns:
        b = bootstrap_cutoffs if "outcome" in bootstrap_cutoffs.columns else \
            bootstrap_cutoffs.assign(outcome=bootstrap_outcome)
        for r in b.to_dict("records"):
            ci[(str(r["outcome"]), str(r["method"]))] = (r.get("cutoff_ci_low"), r.get("cutoff_ci_high"))
    rows = []
    for r in roc_summary.to_dict("records"):
        for m in DRIFT_METHODS:
            lo, hi = ci.get((str(r.get("outcome")), m), (None, None))
            rows.append({"publication_id": publication_id, "created_at": _naive_utc(created_at),
                         "outcome": r.get("outcome"), "method": m,
                         "target_specificity": (math.nan if m == "youden" or target_specificity is None
                                                else float(target_specificity)),
                         "cutoff": r.get(f"{m}_cutoff"), "ci_low": lo, "ci_high": hi,
                         "n": r.get("n"), "auc": r.get("auc")})
    out = pd.DataFrame(rows, columns=list(CUTOFF_HISTORY_COLUMNS))
    for c in ("target_specificity", "cutoff", "ci_low", "ci_high", "auc"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("Int64")
    return out


def publication_drift(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The current publication's cut-offs against the previous publications' (pure).

    ``previous`` and ``current`` are :func:`cutoff_history` rows; the series are outcome x method
    x target specificity, and :func:`cutoff_drift` orders each by ``created_at``.  A series
    absent from every earlier publication has NaN ``previous_*`` and ``<NA>`` flags.

    Returns
    -------
    DataFrame
        One row per current outcome and method, columns :data:`PUBLICATION_DRIFT_COLUMNS`.
    """
    cur_ids = set(current["publication_id"])
    history = pd.concat([previous[~previous["publication_id"].isin(cur_ids)], current], ignore_index=True)
    keys = ["outcome", "method", "target_specificity"]
    d = cutoff_drift(history, group_by=keys)
    prev_info = history[["publication_id", *keys, "created_at", "n", "auc"]].rename(
        columns={"publication_id": "previous_publication_id", "created_at": "previous_created_at",
                 "n": "previous_n", "auc": "previous_auc"})
    d = d.merge(prev_info, on=["previous_publication_id", *keys], how="left")
    d = d[d["publication_id"].isin(cur_ids)]
    order = {(o, m): i for i, (o, m) in enumerate(zip(current["outcome"], current["method"]))}
    d = d.assign(_o=[order.get((o, m), len(order)) for o, m in zip(d["outcome"], d["method"])])
    d = d.sort_values("_o", kind="stable")
    return d[list(PUBLICATION_DRIFT_COLUMNS)].reset_index(drop=True)
