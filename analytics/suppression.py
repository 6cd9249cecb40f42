"""Small-cell suppression for per-centre published tables.

Rule (applied to per-centre tables only; overall tables are published unmasked, and an overall
row inside a per-centre table is never masked):

1. *Primary*: every count ``< k`` (default 5; zero included, since "none of the 3 patients"
   discloses as much as "all of them") is masked.
2. *Derived values*: a proportion, rate or CI computed from a masked count is masked
   (``derived`` maps each derived column to the counts it is computed from; a column's
   ``*_ci_low`` / ``*_ci_high`` siblings follow it).
3. *Complementary*: when a published total is the sum of parts (``totals``, e.g.
   ``n_positive = tp + fn``) and exactly one part is masked, the smallest other part is masked
   too, so the masked count cannot be recovered by subtraction; likewise across rows when the
   table carries an overall row (``total_row``): a count masked in only one centre is masked in
   a second centre too.  Repeated until stable.

Masked cells become ``<NA>`` (nullable dtypes); ``suppressed`` lists the masked columns of
each row.  The input frame is never modified.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["suppress_small_cells", "ROC_COUNT_COLUMNS", "ROC_DERIVED", "ROC_TOTALS", "suppress_roc_table"]

#: Count columns of the ROC-family tables.
ROC_COUNT_COLUMNS = ("n", "n_positive", "n_negative", "tp", "fp", "tn", "fn")
#: Derived column -> the counts it is computed from.
ROC_DERIVED: dict[str, tuple[str, ...]] = {
    "sensitivity": ("tp", "fn"),
    "specificity": ("tn", "fp"),
    "ppv": ("tp", "fp"),
    "npv": ("tn", "fn"),
    "rate": ("n_positive", "n"),
    "youden_j": ("tp", "fn", "tn", "fp"),
    "accuracy": ("tp", "fp", "tn", "fn"),
    "lr_positive": ("tp", "fn", "tn", "fp"),
    "lr_negative": ("tp", "fn", "tn", "fp"),
}
#: Total -> the parts it is the sum of.
ROC_TOTALS: dict[str, tuple[str, ...]] = {
    "n_positive": ("tp", "fn"),
    "n_negative": ("fp", "tn"),
    "n": ("n_positive", "n_negative"),
}


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    k: int = 5,
    derived: Mapping[str, Sequence[str]] | None = None,
    totals: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]] | None = None,
    mask_zero: bool = True,
    total_row: tuple[str, object] | None = None,
    additive: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mask counts below ``k`` and everything that would reveal them.

    Parameters
    ----------
    table : DataFrame
        A per-centre table (one row per centre, or per centre x cut-off).
    count_columns : sequence of str
        The count columns to check (columns absent from ``table`` are ignored).
    k : int, default 5
        Counts ``< k`` are masked.
    derived : mapping, optional
        Derived column -> count columns it depends on (its ``_ci_low``/``_ci_high`` follow).
    totals : mapping or sequence of (total, parts), optional
        Total column -> part columns, for complementary suppression (a sequence of pairs lets
        one total have several decompositions).
    mask_zero : bool, default True
        Also mask zero counts.
    total_row : (column, value), optional
        Identifies an overall row (e.g. ``("centre", "all")``) whose counts are the column sums
        of the other rows.  That row itself is never masked; when exactly one other row has a
        count column masked, the smallest unmasked cell of that column in another row is masked
        too (so the hidden count is not total minus the rest).
    additive : sequence of str, optional
        The count columns that add up to the ``total_row`` (default: all ``count_columns``).

    Returns
    -------
    DataFrame
        A copy with masked cells set to ``<NA>`` (counts as ``Int64``, others ``Float64``) and a
        ``suppressed`` column: comma-separated names of the masked columns ("" when none).
    """
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    derived = dict(derived or {})
    totals = list(totals.items()) if isinstance(totals, Mapping) else list(totals or [])
    cols = [c for c in count_columns if c in table.columns]
    out = table.copy()
    mask = pd.DataFrame(False, index=table.index, columns=list(table.columns))
    if total_row is not None:
        tcol, tval = total_row
        if tcol not in table.columns:
            raise ValueError(f"total_row column {tcol!r} not in table; columns are {list(table.columns)}")
        is_total = (table[tcol] == tval).to_numpy()
    else:
        is_total = np.zeros(len(table), dtype=bool)
    for c in cols:
        v = pd.to_numeric(table[c], errors="coerce")
        small = (v < k) & (v.notna())
        if not mask_zero:
            small &= v != 0
        mask[c] = small.to_numpy() & ~is_total
    # complementary suppression, to a fixed point
    changed = True
    while changed:
        changed = False
        for total, parts in totals:
            parts = [p for p in parts if p in table.columns]
            if total not in table.columns or len(parts) < 2:
                continue
            for i in table.index:
                if mask.at[i, total]:
                    continue
                masked = [p for p in parts if mask.at[i, p]]
                if len(masked) == 1:
                    others = [p for p in parts if not mask.at[i, p]]
                    smallest = min(others, key=lambda p: (pd.to_numeric(table.at[i, p], errors="coerce"), p))
                    mask.at[i, smallest] = True
                    changed = True
        if is_total.any():
            for c in [c for c in (cols if additive is None else additive) if c in cols]:
                col_mask = mask[c].to_numpy() & ~is_total
                if col_mask.sum() == 1:
                    cand = [i for i, t, mk in zip(table.index, is_total, mask[c].to_numpy()) if not t and not mk]
                    if cand:
                        vals = pd.to_numeric(table.loc[cand, c], errors="coerce")
                        mask.at[vals.idxmin(), c] = True
                        changed = True
    # derived values
    for col, deps in derived.items():
        deps = [d for d in deps if d in mask.columns]
        if not deps:
            continue
        hit = mask[deps].any(axis=1)
        for c in (col, f"{col}_ci_low", f"{col}_ci_high"):
            if c in mask.columns:
                mask[c] = mask[c] | hit
    for c in mask.columns:
        if not mask[c].any():
            continue
        if c in cols:
            out[c] = pd.to_numeric(out[c], errors="coerce").round().astype("Int64")
        elif pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype("Float64")
        else:
            out[c] = out[c].astype(object)
        out.loc[mask[c].to_numpy(), c] = pd.NA
    out["suppressed"] = [",".join(c for c in mask.columns if mask.at[i, c]) for i in mask.index]
    return out


def suppress_roc_table(table: pd.DataFrame, *, k: int = 5,
                       prefixes: Sequence[str] = ("", "youden_", "target_specificity_")) -> pd.DataFrame:
    """:func:`suppress_small_cells` with the ROC-family rules, for per-centre tables.

    Prefixed count groups present in the table (any ``<p>tp`` with a matching ``<p>fn``) are
    detected and handled in addition to ``prefixes``.
    Works on :func:`analytics.centres.roc_by_centre` (prefixed groups ``youden_tp``,
    ``youden_sensitivity``...), :func:`analytics.centres.leave_one_centre_out`, per-centre
    cut-off tables (:func:`analytics.cutoffs.cutoff_table` with a centre column) and
    :func:`analytics.bands.rate_by_bins` outputs.  Counts: ``n, n_positive, n_negative`` and
    ``tp, fp, tn, fn`` (per prefix); derived: see :data:`ROC_DERIVED`; the AUC and its CI are
    masked with ``n_positive`` or ``n_negative`` (in a tiny group the AUC can reveal ranks).
    """
    # prefixes present in the table are always handled, whatever the caller passed
    detected = [c[: -len("tp")] for c in table.columns if c.endswith("tp") and f"{c[:-2]}fn" in table.columns]
    prefixes = list(dict.fromkeys([*prefixes, *detected]))
    counts = ["n", "n_positive", "n_negative"]
    derived: dict[str, tuple[str, ...]] = {"auc": ("n_positive", "n_negative")}
    totals: list[tuple[str, tuple[str, ...]]] = [("n", ("n_positive", "n_negative"))]
    cells = ("tp", "fp", "tn", "fn")
    for p in prefixes:
        counts += [p + c for c in cells]
        for d, deps in ROC_DERIVED.items():
            if d == "rate":
                continue
            derived[p + d] = tuple(p + x for x in deps)
        totals += [("n_positive", (p + "tp", p + "fn")), ("n_negative", (p + "fp", p + "tn"))]
    derived["rate"] = ROC_DERIVED["rate"]
    total_row = ("centre", "all") if "centre" in table.columns and (table["centre"] == "all").any() else None
    # rate tables (bands): the implied count without the outcome, n - n_positive, is checked too
    implied = "n" in table.columns and "n_positive" in table.columns and "n_negative" not in table.columns
    work = table.assign(n_negative=table["n"] - table["n_positive"]) if implied else table
    if "rate" in table.columns and "ci_low" in table.columns and "auc" not in table.columns:
        work = work.rename(columns={"ci_low": "rate_ci_low", "ci_high": "rate_ci_high"})
    out = suppress_small_cells(work, counts, k=k, derived=derived, totals=totals, total_row=total_row,
                               additive=("n", "n_positive", "n_negative"))
    out = out.rename(columns={"rate_ci_low": "ci_low", "rate_ci_high": "ci_high"}) if "rate_ci_low" in out.columns \
        and "rate_ci_low" not in table.columns else out
    if implied:
        out = out.drop(columns="n_negative")
    out["suppressed"] = out["suppressed"].map(
        lambda v: ",".join({"rate_ci_low": "ci_low", "rate_ci_high": "ci_high"}.get(c, c)
                           for c in v.split(",") if c and not (implied and c == "n_negative")))
    return out
