"""Small-cell suppression as a property of the whole publication.

Per-centre counts are the disclosure risk of a small multicentre paediatric study (a handful of
children in one centre); study-wide counts are published as the paper publishes them.  Every
per-centre count of every centre-level table is one *cell* of a single registry, keyed by what
it counts: ``(centre, "n" | "n_positive" | "n_negative")`` or ``(centre, "tp"|"fp"|"tn"|"fn",
cut-off)``.  The same quantity printed in two tables (a centre's ``n_positive`` in "ROC by
centre" and in "Leave-one-centre-out"; its confusion counts at its own Youden cut-off, printed as
``youden_*`` and as ``own_*``) is one cell, so it is masked everywhere or nowhere.

1. *Primary*: a cell ``< k`` (zero included) is masked (``small``).
2. *Complementary*: every published additive relation must leave each masked cell with a second
   unknown: within a centre ``n = n_positive + n_negative``, ``n_positive = tp + fn`` and
   ``n_negative = fp + tn`` at every cut-off; across centres the study-wide totals of ``n``,
   ``n_positive`` and ``n_negative`` (the "all" row, the ROC summary, Table 1's headers) and,
   at any cut-off at which every centre publishes its confusion counts, the study-wide counts
   at that cut-off (Table 4, the bands).  A relation with exactly one masked member gets its
   smallest unmasked cell masked too (``complement``); repeated until nothing changes.
3. *Derived*: a statistic computed from a masked cell is masked (``derived``): proportions and
   their CIs, the AUC with its CI and p, and a centre's own cut-off (an observed trough of one of
   its few patients).

Masked cells become ``<NA>``; a ``suppressed`` column lists ``column:reason`` for each masked cell
of the row (``;``-separated), so renderers can print ``<k`` or the reason.  Inputs are not modified.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["suppress_publication", "CENTRE_TABLE_GROUPS", "MARGINS", "CELLS", "REASONS", "parse_suppressed"]

MARGINS = ("n", "n_positive", "n_negative")
CELLS = ("tp", "fp", "tn", "fn")
REASONS = ("small", "complement", "derived")
#: Centre-level tables: confusion-count group prefix -> the column holding that group's cut-off.
CENTRE_TABLE_GROUPS: dict[str, dict[str, str]] = {
    "roc_by_centre": {"youden_": "youden_cutoff", "target_specificity_": "target_specificity_cutoff"},
    "leave_one_centre_out": {"": "cutoff_without", "own_": "cutoff_own"},
    "centre_auc_studies": {},
}
_OVERALL = "all"
# derived column suffix -> the cells it is computed from (per group prefix)
_GROUP_DERIVED = {
    "sensitivity": ("tp", "fn", "n_positive"), "specificity": ("tn", "fp", "n_negative"),
    "ppv": ("tp", "fp"), "npv": ("tn", "fn"),
}
# derived from the centre's class sizes: rank statistics and the centre's own cut-offs
_MARGIN_DERIVED = ("auc", "auc_ci_low", "auc_ci_high", "p_value", "youden_cutoff", "target_specificity_cutoff",
                   "cutoff_own", "estimate", "variance", "se", "ci_low", "ci_high", "weight_percent")


def parse_suppressed(value: str) -> dict[str, str]:
    """``"n:small;auc:derived"`` -> ``{"n": "small", "auc": "derived"}``."""
    out = {}
    for part in (value or "").split(";"):
        if part:
            col, _, reason = part.partition(":")
            out[col] = reason
    return out


def _key_value(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _registry(tables: Mapping[str, pd.DataFrame], names: Iterable[str]):
    """(table, row index, column) -> cell key, and cell key -> value."""
    where: dict[tuple[str, object, str], tuple] = {}
    value: dict[tuple, int] = {}
    for name in names:
        if name not in CENTRE_TABLE_GROUPS:
            raise ValueError(f"no suppression rule for centre-level table {name!r}; known: {sorted(CENTRE_TABLE_GROUPS)}")
        t = tables[name]
        for i, row in t.iterrows():  # a handful of centres: the registry is tiny
            c = row["centre"]
            if c == _OVERALL:
                continue
            cells = [(m, (str(c), m)) for m in MARGINS if m in t.columns]
            for prefix, cut_col in CENTRE_TABLE_GROUPS[name].items():
                cut = _key_value(row.get(cut_col))
                gid = cut if cut is not None else f"{name}:{prefix}:none"
                cells += [(prefix + x, (str(c), x, gid)) for x in CELLS if prefix + x in t.columns]
            for col, key in cells:
                v = row[col]
                if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                    continue
                v = int(v)
                if key in value and value[key] != v:
                    raise ValueError(f"{name}: {col} of centre {c!r} is {v} but the same count is {value[key]} "
                                     "in another table")
                value[key] = v
                where[(name, i, col)] = key
    return where, value


def _masks(value: Mapping[tuple, int], k: int) -> dict[tuple, str]:
    """Cell key -> reason, by centre states (see the module docstring), to a fixed point."""
    centres = sorted({key[0] for key in value})
    small = {key for key, v in value.items() if v < k}
    margins = {c: [key for key in value if key[0] == c and len(key) == 2] for c in centres}
    cells = {c: [key for key in value if key[0] == c and len(key) == 3] for c in centres}
    size = {c: value.get((c, "n"), 0) for c in centres}
    # 0 open, 1 confusion counts masked, 2 everything masked
    state = {c: 2 if any(key in small for key in margins[c]) else 1 if any(key in small for key in cells[c]) else 0
             for c in centres}
    shared = [gid for gid in {key[2] for key in value if len(key) == 3 and isinstance(key[2], float)}
              if all((c, "tp", gid) in value for c in centres)]
    changed = True
    while changed:
        changed = False
        closed = [c for c in centres if state[c] == 2]
        if len(closed) == 1:
            others = [c for c in centres if state[c] < 2]
            if others:
                state[min(others, key=lambda c: (size[c], c))] = 2
                changed = True
        if shared:
            hidden = [c for c in centres if state[c] >= 1]
            if len(hidden) == 1:
                others = [c for c in centres if state[c] == 0]
                if others:
                    state[min(others, key=lambda c: (size[c], c))] = 1
                    changed = True
    mask: dict[tuple, str] = {}
    for c in centres:
        keys = (margins[c] + cells[c]) if state[c] == 2 else cells[c] if state[c] == 1 else []
        for key in keys:
            mask[key] = "small" if key in small else "complement"
    return mask


def _derived(t: pd.DataFrame, name: str, hit: pd.DataFrame) -> pd.DataFrame:
    """Boolean frame: derived columns whose inputs are masked."""
    out = pd.DataFrame(False, index=t.index, columns=t.columns)
    margins = hit.reindex(columns=["n_positive", "n_negative"], fill_value=False).any(axis=1)
    for col in _MARGIN_DERIVED:
        if col in t.columns:
            out[col] = margins
    for prefix in CENTRE_TABLE_GROUPS[name]:
        for stat, deps in _GROUP_DERIVED.items():
            cols = [prefix + d if d in CELLS else d for d in deps]
            dep_hit = hit.reindex(columns=cols, fill_value=False).any(axis=1)
            for c in (prefix + stat, f"{prefix}{stat}_ci_low", f"{prefix}{stat}_ci_high"):
                if c in t.columns:
                    out[c] = out[c] | dep_hit
    return out


def suppress_publication(tables: Mapping[str, pd.DataFrame], *, centre_tables: Iterable[str],
                         k: int = 5) -> dict[str, pd.DataFrame]:
    """The publication's tables with the per-centre small cells (and what reveals them) masked.

    Parameters
    ----------
    tables : table name -> frame (the whole publication).
    centre_tables : names of the tables that publish per-centre counts (each must be a key of
        :data:`CENTRE_TABLE_GROUPS`); absent ones are ignored.  The others are returned as they are.
    k : counts ``< k`` are masked.

    Returns
    -------
    dict
        The same tables; centre-level ones with masked cells ``<NA>`` and a ``suppressed``
        column (``column:reason;...``, reasons in :data:`REASONS`).
    """
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    names = [n for n in centre_tables if n in tables]
    where, value = _registry(tables, names)
    mask = _masks(value, int(k))
    out = dict(tables)
    for name in names:
        t = tables[name]
        reason = pd.DataFrame("", index=t.index, columns=t.columns)
        for (tn, i, col), key in where.items():
            if tn == name and key in mask:
                reason.at[i, col] = mask[key]
        derived = _derived(t, name, reason != "") & (reason == "")
        reason = reason.mask(derived, "derived")
        s = t.copy()
        for col in t.columns:
            hit = (reason[col] != "").to_numpy()
            if not hit.any():
                continue
            if col in MARGINS or any(col == p + x for p in CENTRE_TABLE_GROUPS[name] for x in CELLS):
                s[col] = pd.to_numeric(s[col], errors="coerce").round().astype("Int64")
            elif pd.api.types.is_numeric_dtype(s[col]):
                s[col] = s[col].astype("Float64")
            s.loc[hit, col] = pd.NA
        s["suppressed"] = [";".join(f"{c}:{r}" for c, r in zip(t.columns, row) if r)
                           for row in reason.itertuples(index=False, name=None)]
        out[name] = s
    return out
