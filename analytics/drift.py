"""Drift of a cut-off between successive publications.

A publication freezes the cut-off with its bootstrap CI; as data accrue the cut-off moves.
:func:`cutoff_drift` lines the publications up and says, for each, how far the cut-off moved and
whether the new value falls outside the previous publication's bootstrap CI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cutoff_drift", "DRIFT_INPUT_COLUMNS"]

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
