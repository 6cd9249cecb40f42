"""An attacker who tries to recover every masked per-centre count from everything a publication publishes.

The attacker is stronger than a real reader: besides every published number (all CSV tables) it
knows the true cut-off behind every confusion-count group, even where the cut-off is masked.  Its
unknowns are *atoms*: the number of patients of each centre with and without the outcome in each
interval between consecutive thresholds (every cut-off of every table, band and quartile edges).
Each published count is a sum of atoms; a cell marked ``small`` (``<k``) lies in ``[0, k-1]``, one
marked ``complement`` in ``[k, inf)``, any other masked cell in ``[0, inf)``.  For each masked count it solves two integer programs (``scipy.optimize.milp``):
the smallest and the largest value the published numbers allow.  If they are equal, the value is
recovered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from analytics.suppression import CENTRE_TABLE_GROUPS, parse_suppressed

CELLS = ("tp", "fp", "tn", "fn")


@dataclass
class Cell:
    table: str
    centre: str
    column: str
    coef: np.ndarray
    value: float | None  # published value (None when masked)
    reason: str | None  # suppression reason


class Atoms:
    """Index of the unknowns: centre x interval x outcome class."""

    def __init__(self, centres: list[str], thresholds: np.ndarray):
        self.centres = centres
        self.thr = np.unique(thresholds[np.isfinite(thresholds)])
        self.k = self.thr.size + 1
        self.size = len(centres) * self.k * 2

    def interval(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.thr, x, side="right")

    def vec(self, centre: str | None, cls: tuple[int, ...], lo: float = -math.inf, hi: float = math.inf) -> np.ndarray:
        """Coefficients of "patients of ``centre`` (None: all) with class in ``cls`` and lo <= x < hi"."""
        v = np.zeros(self.size)
        js = np.arange(self.k)
        # interval j is [thr[j-1], thr[j]); inside [lo, hi) when thr[j-1] >= lo and thr[j] <= hi
        left = np.concatenate([[-math.inf], self.thr])
        right = np.concatenate([self.thr, [math.inf]])
        inside = js[(left >= lo) & (right <= hi)]
        for ci, c in enumerate(self.centres):
            if centre is not None and c != centre:
                continue
            for y in cls:
                v[(ci * self.k + inside) * 2 + y] = 1
        return v

    def truth(self, centre: pd.Series, marker: pd.Series, outcome: pd.Series) -> np.ndarray:
        x = np.zeros(self.size)
        ci = centre.map({c: i for i, c in enumerate(self.centres)}).to_numpy()
        j = self.interval(marker.to_numpy(float))
        np.add.at(x, (ci * self.k + j) * 2 + outcome.astype(int).to_numpy(), 1)
        return x


def _counts_at(atoms: Atoms, centre, t: float) -> dict[str, np.ndarray]:
    """Confusion counts of "marker >= t" (t = inf: nobody tests positive)."""
    return {"tp": atoms.vec(centre, (1,), lo=t), "fn": atoms.vec(centre, (1,), hi=t),
            "fp": atoms.vec(centre, (0,), lo=t), "tn": atoms.vec(centre, (0,), hi=t)}


def _margins(atoms: Atoms, centre) -> dict[str, np.ndarray]:
    return {"n": atoms.vec(centre, (0, 1)), "n_positive": atoms.vec(centre, (1,)), "n_negative": atoms.vec(centre, (0,))}


def published_cells(atoms: Atoms, published: dict[str, pd.DataFrame], truth_cutoffs: dict[str, pd.DataFrame],
                    k: int) -> list[Cell]:
    """Every count the publication prints, as (coefficients, value or masked)."""
    cells: list[Cell] = []

    def add(table, centre, col, coef, v, reason=None):
        masked = reason is not None
        val = None if masked or v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        if val is None and not masked:
            return  # not computed: says nothing
        cells.append(Cell(table, centre, col, coef, val, reason))

    for name, groups in CENTRE_TABLE_GROUPS.items():
        if name not in published:
            continue
        t = published[name]
        truth = truth_cutoffs[name].set_index("centre") if groups else pd.DataFrame()
        for r in t.to_dict("records"):
            c = str(r["centre"])
            who = None if c == "all" else c
            masked = parse_suppressed(r.get("suppressed", "") if isinstance(r.get("suppressed"), str) else "")
            for m, coef in _margins(atoms, who).items():
                add(name, c, m, coef, r.get(m), masked.get(m))
            for prefix, cut_col in groups.items():
                cut = truth.loc[r["centre"], cut_col] if r["centre"] in truth.index else math.nan
                if prefix + "tp" not in t.columns:
                    continue
                if pd.isna(cut):
                    if pd.isna(r.get(prefix + "tp")) and prefix + "tp" not in masked:
                        continue
                    cut = math.inf
                for x, coef in _counts_at(atoms, who, float(cut)).items():
                    add(name, c, prefix + x, coef, r.get(prefix + x), masked.get(prefix + x))
    t4 = published.get("table4_cutoffs")
    if t4 is not None:
        for r in t4.to_dict("records"):
            for x, coef in _counts_at(atoms, None, float(r["cutoff"])).items():
                add("table4_cutoffs", "all", x, coef, r[x])
    for name in ("mh_by_band", "mh_by_quartile"):
        b = published.get(name)
        if b is None:
            continue
        lows = b["lower"].to_numpy(float, copy=True)
        highs = b["upper"].to_numpy(float, copy=True)
        if name == "mh_by_quartile":  # groups are [b_{i-1}, b_i) with open outer ends
            lows[0], highs[-1] = -math.inf, math.inf
        for lo, hi, r in zip(lows, highs, b.to_dict("records")):
            add(name, "all", "n", atoms.vec(None, (0, 1), lo, hi), r["n"])
            add(name, "all", "n_positive", atoms.vec(None, (1,), lo, hi), r["n_positive"])
    roc = published.get("roc_summary")
    if roc is not None:
        mh = roc[roc.outcome == "mucosal_healing"]
        for m, coef in _margins(atoms, None).items():
            if len(mh):
                add("roc_summary", "all", m, coef, mh.iloc[0][m])
    t1 = published.get("table1")
    if t1 is not None:
        head = t1[t1.variable == "n"].iloc[0]
        add("table1", "all", "n", atoms.vec(None, (0, 1)), float(head["overall"]))
        add("table1", "all", "n_negative", atoms.vec(None, (0,)), float(head["mucosal_healing=False"]))
        add("table1", "all", "n_positive", atoms.vec(None, (1,)), float(head["mucosal_healing=True"]))
    return cells


def attack(atoms: Atoms, cells: list[Cell], k: int) -> list[tuple[Cell, float, float]]:
    """(cell, smallest, largest) feasible value of every masked cell."""
    known = [c for c in cells if c.value is not None]
    masked = [c for c in cells if c.value is None]
    A = np.array([c.coef for c in known])
    b = np.array([c.value for c in known])
    cons = [LinearConstraint(A, b, b)]
    for c in masked:  # what the marks disclose
        lo, hi = (0, k - 1) if c.reason == "small" else (k, np.inf) if c.reason == "complement" else (0, np.inf)
        cons.append(LinearConstraint(c.coef[None, :], lo, hi))
    integrality = np.ones(atoms.size)
    out = []
    for c in masked:
        bounds = []
        for sign in (1, -1):
            res = milp(sign * c.coef, constraints=cons, integrality=integrality, bounds=Bounds(0, np.inf))
            assert res.status == 0, (c.table, c.centre, c.column, res.message)
            bounds.append(sign * res.fun)
        out.append((c, bounds[0], bounds[1]))
    return out
