"""Shared machinery of the ROC family: input cleaning and the one-sort tie-exact tabulation.

Everything in :mod:`analytics.roc`, :mod:`analytics.delong`, :mod:`analytics.cutoffs`,
:mod:`analytics.bootstrap` and :mod:`analytics.centres` rests on :func:`tabulate`: one sort of the
marker, then per *distinct* marker value the number of positives and negatives.  All cut-off
counts, the AUC and DeLong's placements follow by cumulative sums over those groups, so ties in
the marker are handled exactly (a tied group is never split) and the cost is O(n log n).

Conventions (fixed, never guessed from the data):

* the positive class is ``outcome == True`` (1);
* a higher marker predicts the positive outcome;
* a patient *tests positive* at cut-off ``c`` when ``marker >= c``;
* candidate cut-offs are the distinct observed marker values (plus ``+inf``, "nobody positive").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from base.errors import AnalysisError

#: Truthy/falsy spellings accepted for a binary outcome given as text.
_TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y"})
_FALSE_WORDS = frozenset({"0", "0.0", "false", "f", "no", "n"})


@dataclass(frozen=True)
class Cleaned:
    """Marker and outcome after dropping missing values."""

    marker: np.ndarray  # float64
    outcome: np.ndarray  # bool
    n_dropped: int


def _line(pos: int, line_offset: int | None) -> int | None:
    return None if line_offset is None else int(pos) + line_offset


def as_outcome(values, *, name: str = "outcome", line_offset: int | None = None) -> np.ndarray:
    """Coerce an array-like binary outcome to float64 with NaN for missing.

    Accepts booleans, 0/1 numbers and the words true/false, yes/no, t/f, y/n (any case).
    Anything else raises :class:`~base.errors.AnalysisError` naming the offending value (and its
    file line ``position + line_offset`` when ``line_offset`` is given, e.g. 2 for a CSV).
    """
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if s.dtype == bool:
        return s.to_numpy(dtype=np.float64)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isnan(arr) & (arr != 0) & (arr != 1)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise AnalysisError(
                f"{name} must be binary (0/1, true/false, yes/no)",
                column=name,
                value=float(arr[pos]),
                line=_line(pos, line_offset),
                code="outcome_not_binary",
            )
        return arr
    out = np.full(len(s), np.nan)
    for i, v in enumerate(s.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, (bool, np.bool_)):
            out[i] = float(v)
            continue
        word = str(v).strip().lower()
        if word == "" or word in ("na", "nan", "none", "null"):
            continue
        if word in _TRUE_WORDS:
            out[i] = 1.0
        elif word in _FALSE_WORDS:
            out[i] = 0.0
        else:
            raise AnalysisError(
                f"{name} must be binary; valid values are 0/1, true/false, yes/no (t/f, y/n)",
                column=name,
                value=v,
                line=_line(i, line_offset),
                code="outcome_not_binary",
            )
    return out


def as_marker(values, *, name: str = "marker", line_offset: int | None = None) -> np.ndarray:
    """Coerce an array-like numeric marker to float64 (NaN for missing); text raises."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if not (pd.api.types.is_numeric_dtype(s.dtype) or s.dtype == bool):
        conv = pd.to_numeric(s, errors="coerce")
        missing_words = s.astype(str).str.strip().str.lower().isin(["", "na", "nan", "none", "null"])
        bad = conv.isna() & s.notna() & ~missing_words
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise AnalysisError(
                f"{name} must be numeric",
                column=name,
                value=s.iloc[pos],
                line=_line(pos, line_offset),
                code="marker_not_numeric",
            )
        s = conv
    arr = s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(arr).any():
        pos = int(np.flatnonzero(np.isinf(arr))[0])
        raise AnalysisError(f"{name} contains an infinite value", column=name, value=float(arr[pos]),
                            line=_line(pos, line_offset), code="marker_not_finite")
    return arr


def clean(marker, outcome, *, min_per_class: int = 1, marker_name: str = "marker",
          outcome_name: str = "outcome") -> Cleaned:
    """Validate and align marker/outcome; drop pairs where either is missing.

    Raises
    ------
    AnalysisError
        Lengths differ, or fewer than ``min_per_class`` positives or negatives remain.
    """
    x = as_marker(marker, name=marker_name)
    yf = as_outcome(outcome, name=outcome_name)
    if x.shape != yf.shape or x.ndim != 1:
        raise AnalysisError(
            f"{marker_name} and {outcome_name} must be one-dimensional and of equal length "
            f"(got {x.shape} and {yf.shape})",
            code="length_mismatch",
        )
    keep = ~(np.isnan(x) | np.isnan(yf))
    n_dropped = int((~keep).sum())
    x = x[keep]
    y = yf[keep] == 1.0
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos < min_per_class or n_neg < min_per_class:
        raise AnalysisError(
            f"ROC analysis needs at least {min_per_class} patient(s) with and without the outcome "
            f"after dropping {n_dropped} missing; got {n_pos} positive and {n_neg} negative",
            code="one_class_only" if min(n_pos, n_neg) == 0 else "too_few_patients",
        )
    return Cleaned(marker=x, outcome=y, n_dropped=n_dropped)


@dataclass(frozen=True)
class Tabulation:
    """Per distinct marker value (ascending): counts of positives and negatives.

    Attributes
    ----------
    values : distinct marker values, ascending (length G)
    pos, neg : int64 counts of positive/negative patients at each value
    group : for every input patient, the index of its value in ``values``
    m, n : total positives (cases) and negatives (controls)
    """

    values: np.ndarray
    pos: np.ndarray
    neg: np.ndarray
    group: np.ndarray
    m: int
    n: int

    # --- counts when the rule is "marker >= values[k]" -------------------------------------
    @property
    def tp(self) -> np.ndarray:
        """Positives with marker >= values[k] (reverse cumulative sum)."""
        return np.cumsum(self.pos[::-1])[::-1]

    @property
    def fp(self) -> np.ndarray:
        return np.cumsum(self.neg[::-1])[::-1]

    def placements(self) -> tuple[np.ndarray, np.ndarray]:
        """DeLong placement values per group.

        Returns ``(v10, v01)``: ``v10[k]`` is the structural component of a *case* with value
        ``values[k]``: (controls below + 1/2 controls tied) / n; ``v01[k]`` that of a *control*:
        (cases above + 1/2 cases tied) / m.
        """
        neg_below = np.cumsum(self.neg) - self.neg
        pos_above = self.m - np.cumsum(self.pos)
        v10 = (neg_below + 0.5 * self.neg) / self.n
        v01 = (pos_above + 0.5 * self.pos) / self.m
        return v10, v01

    def auc(self) -> float:
        """Mann-Whitney AUC, ties counted 1/2."""
        neg_below = np.cumsum(self.neg) - self.neg
        num = float(np.dot(self.pos.astype(np.float64), neg_below + 0.5 * self.neg))
        return num / (float(self.m) * float(self.n))


def tabulate(x: np.ndarray, y: np.ndarray) -> Tabulation:
    """One sort; counts of positives/negatives per distinct marker value (exact ties)."""
    order = np.argsort(x)  # within-tie order is irrelevant: tied groups are never split
    xs = x[order]
    n_all = xs.size
    flag = np.empty(n_all, dtype=bool)
    flag[0] = True
    np.not_equal(xs[1:], xs[:-1], out=flag[1:])
    starts = np.flatnonzero(flag)
    values = xs[starts]
    ys = y[order]
    pos = np.add.reduceat(ys.astype(np.int64), starts)
    sizes = np.diff(np.append(starts, n_all))
    neg = sizes - pos
    gid_sorted = np.cumsum(flag) - 1
    group = np.empty(n_all, dtype=np.int64)
    group[order] = gid_sorted
    m = int(pos.sum())
    return Tabulation(values=values, pos=pos, neg=neg, group=group, m=m, n=int(n_all - m))
