"""Small-cell suppression as a property of the whole publication.

Per-centre counts are the disclosure risk of a small multicentre paediatric study (a handful of
children in one centre); study-wide counts are published as the paper publishes them.  Every
per-centre count of every centre-level table is one *cell* of a single registry, keyed by what
it counts: ``(centre, "n" | "n_positive" | "n_negative")`` or ``(centre, "tp"|"fp"|"tn"|"fn",
cut-off)``.  The same quantity printed in two tables (a centre's ``n_positive`` in "ROC by
centre" and in "Leave-one-centre-out"; its confusion counts at its own Youden cut-off, printed as
``youden_*`` and as ``own_*``) is one cell, so it is masked everywhere or nowhere.

1. *Primary*: a cell ``< k`` (zero included) is masked.
2. *Complementary*, by centre state: a centre with a small confusion count has
   *all* its confusion counts masked (counts at several cut-offs are nested sums of the same
   patients, so one hidden cell would be recovered from the others); a centre with a small ``n``,
   ``n_positive`` or ``n_negative`` is *closed*: every count of it is masked.  The study-wide
   totals (the "all" row, the ROC summary, Table 1's headers) are sums over centres, so when exactly
   one centre is closed the smallest other centre is closed too; likewise when every centre
   publishes counts at one cut-off (a study-wide count at it, e.g. in Table 4, is their sum) and
   exactly one centre's counts are masked, the smallest open centre's are masked too.  The result
   is audited: integer programs over every additive relation look for a masked count with a single
   feasible value, and its centre is closed (or, if it is, another centre) until none is left.
   Every masked count carries the same mark (``suppressed``): marking which ones are ``< k`` would
   disclose bounds (``<k`` there, ``>= k`` on the others) that pin values, e.g. ``fp`` "<5" and
   ``tn`` ">= 5" with ``n_negative = 5`` shown give ``fp = 0``.
3. *Derived*: a statistic computed from a masked cell is masked (``derived``): proportions and
   their CIs, the AUC with its CI and p, and a centre's own cut-off (an observed trough of one of
   its few patients).

Masked cells become ``<NA>``; a ``suppressed`` column lists ``column:reason`` for each masked cell
of the row (``;``-separated; reasons :data:`REASONS`), so renderers can mark it and say why.
Inputs are not modified.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["suppress_publication", "CENTRE_TABLE_GROUPS", "MARGINS", "CELLS", "REASONS", "parse_suppressed"]

MARGINS = ("n", "n_positive", "n_negative")
CELLS = ("tp", "fp", "tn", "fn")
#: Published reasons: a count not shown, a statistic computed from one.
REASONS = ("suppressed", "derived")
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
    """``"n:suppressed;auc:derived"`` -> ``{"n": "suppressed", "auc": "derived"}``."""
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
        for i, row in t.iterrows():  # one row per centre (a handful): building the registry, not data
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


def _relations(value: Mapping[tuple, int], centres: list[str]) -> list[tuple[list[tuple], int | None]]:
    """Every published additive relation as (terms: +1 keys then a -1 total key or None, known total)."""
    rel: list[tuple[list[tuple], tuple | None]] = []
    for c in centres:
        rel.append(([(c, "n_positive"), (c, "n_negative")], (c, "n")))
        for gid in {key[2] for key in value if key[0] == c and len(key) == 3}:
            rel.append(([(c, "tp", gid), (c, "fn", gid)], (c, "n_positive")))
            rel.append(([(c, "fp", gid), (c, "tn", gid)], (c, "n_negative")))
    sums = [[(c, m) for c in centres] for m in MARGINS]
    for gid in {key[2] for key in value if len(key) == 3 and isinstance(key[2], float)}:
        if all((c, "tp", gid) in value for c in centres):
            sums += [[(c, x, gid) for c in centres] for x in CELLS]
    rel += [(parts, None) for parts in sums]  # study-wide totals: published, so known
    return [(parts, total) for parts, total in rel if all(p in value for p in parts) and (total is None or total in value)]


def _pinned(value: Mapping[tuple, int], mask: Mapping[tuple, str], rel, k: int) -> set[str]:
    """Centres with a masked count that the published relations determine exactly (integer programs, counts >= 0)."""
    masked = sorted(mask, key=str)
    if not masked:
        return set()
    col = {key: j for j, key in enumerate(masked)}
    rows, rhs = [], []
    for parts, total in rel:
        terms = [(p, 1.0) for p in parts] + ([(total, -1.0)] if total is not None else [])
        coef = np.zeros(len(masked))
        known = 0.0
        for key, sign in terms:
            if key in col:
                coef[col[key]] += sign
            else:
                known += sign * value[key]
        if coef.any():
            rows.append(coef)
            rhs.append(-known)
    lo, hi = np.zeros(len(masked)), np.full(len(masked), np.inf)  # the marks say nothing about the value
    cons = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    integrality = np.ones(len(masked))
    pinned = set()
    for key, j in col.items():
        e = np.zeros(len(masked))
        e[j] = 1.0
        ends = [milp(sign * e, constraints=cons, integrality=integrality, bounds=Bounds(lo, hi)) for sign in (1, -1)]
        if all(r.status == 0 for r in ends) and abs(ends[0].fun + ends[1].fun) < 0.5:
            pinned.add(key[0])
    return pinned


def _masks(value: Mapping[tuple, int], k: int) -> dict[tuple, str]:
    """Cell key -> reason, by centre states (see the module docstring), audited, to a fixed point."""
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
    rel = _relations(value, centres)

    def smallest(pool):
        return min(pool, key=lambda c: (size[c], c))

    while True:
        changed = True
        while changed:
            changed = False
            closed = [c for c in centres if state[c] == 2]
            if len(closed) == 1 and any(state[c] < 2 for c in centres):
                state[smallest([c for c in centres if state[c] < 2])] = 2
                changed = True
            hidden = [c for c in centres if state[c] >= 1]
            if shared and len(hidden) == 1 and any(state[c] == 0 for c in centres):
                state[smallest([c for c in centres if state[c] == 0])] = 1
                changed = True
        mask = {key: "suppressed" for c in centres for key in ((margins[c] + cells[c]) if state[c] == 2 else
                                                               cells[c] if state[c] == 1 else [])}
        # escalate any centre whose masked count the published relations still determine
        pinned = _pinned(value, mask, rel, k)
        if not pinned:
            return mask
        grow = [c for c in sorted(pinned) if state[c] < 2]
        if grow:
            for c in grow:
                state[c] = 2
        elif any(state[c] < 2 for c in centres):
            state[smallest([c for c in centres if state[c] < 2])] = 2
        else:
            return mask  # every count of every centre is masked: nothing more to hide


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
