"""The model matrix of a binary regression and whether its data separate (shared by the ML fits of
:mod:`analytics.logistic`, Firth's fits and the stepwise selection).

Design conventions (``docs/ANALYSES.md`` "Logistic models"): an intercept always; a boolean or
numeric 0/1 covariate is one column, any other numeric covariate one column (per unit); a
text/categorical covariate a *block* of indicator columns against its first level in sorted order
(``name[level]``); rows with a missing outcome or covariate are dropped (complete cases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from analytics._rocbase import as_outcome


# --------------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    """A model matrix with its term structure.

    ``columns[0]`` is ``"Intercept"``; ``blocks`` maps each covariate (term) to the indices of its
    columns in ``X``.
    """

    X: np.ndarray
    y: np.ndarray
    columns: tuple[str, ...]
    blocks: dict[str, tuple[int, ...]]
    n_dropped: int


def _is_binary_numeric(s: pd.Series) -> bool:
    vals = pd.unique(s.dropna())
    return len(vals) <= 2 and set(float(v) for v in vals) <= {0.0, 1.0}


def _term_columns(s: pd.Series, name: str) -> tuple[list[str], np.ndarray]:
    """Columns for one covariate (already complete-case)."""
    if pd.api.types.is_bool_dtype(s.dtype) or (
        s.dtype == object and s.map(lambda v: isinstance(v, (bool, np.bool_))).all()
    ):
        return [name], s.astype(float).to_numpy()[:, None]
    if pd.api.types.is_numeric_dtype(s.dtype):
        return [name], s.astype(float).to_numpy()[:, None]
    levels = sorted(pd.unique(s.astype(str)))
    if len(levels) < 2:
        return [f"{name}[{levels[0]}]"] if levels else [], np.zeros((len(s), 0 if not levels else 1))
    ref, rest = levels[0], levels[1:]
    cols = [f"{name}[{lv}]" for lv in rest]
    mat = np.column_stack([(s.astype(str) == lv).to_numpy(dtype=float) for lv in rest])
    del ref
    return cols, mat


def outcome_array(values: pd.Series, name: str) -> np.ndarray:
    """Binary outcome as float 0/1 with NaN for missing; raises AnalysisError otherwise."""
    return as_outcome(values, name=name)


def build_design(data: pd.DataFrame, outcome: str, covariates: list[str] | tuple[str, ...],
                 *, complete_over: list[str] | tuple[str, ...] | None = None) -> Design:
    """Model matrix for ``outcome ~ covariates`` on complete cases.

    ``complete_over`` (default: the covariates) names the variables over which complete cases are
    taken, so that nested models in a stepwise selection share one set of rows (as SAS does).
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError("data must be a pandas DataFrame")
    covariates = list(covariates)
    over = list(complete_over) if complete_over is not None else covariates
    missing = [c for c in dict.fromkeys([outcome, *covariates, *over]) if c not in data.columns]  # each once
    if missing:
        raise ValueError(
            f"unknown column(s) {', '.join(map(repr, missing))}; valid columns: {', '.join(map(str, data.columns))}"
        )
    if len(set(covariates)) != len(covariates):
        raise ValueError("covariates must be distinct")
    if outcome in covariates:
        raise ValueError(f"the outcome {outcome!r} cannot also be a covariate")
    y_all = outcome_array(data[outcome], outcome)
    keep = ~np.isnan(y_all)
    for c in dict.fromkeys([*over, *covariates]):
        keep &= data[c].notna().to_numpy()
    sub = data.loc[keep]
    y = y_all[keep]
    cols: list[str] = ["Intercept"]
    mats = [np.ones((len(sub), 1))]
    blocks: dict[str, tuple[int, ...]] = {}
    for c in covariates:
        names, mat = _term_columns(sub[c], c)
        blocks[c] = tuple(range(len(cols), len(cols) + len(names)))
        cols += names
        mats.append(mat)
    X = np.hstack(mats) if mats else np.ones((len(sub), 1))
    return Design(X=X, y=y, columns=tuple(cols), blocks=blocks, n_dropped=int((~keep).sum()))


# --------------------------------------------------------------------------------------------
# separation
# --------------------------------------------------------------------------------------------
def detect_separation(X: np.ndarray, y: np.ndarray, *, tol: float = 1e-7) -> str | None:
    """Complete or quasi-complete separation of ``y`` by the columns of ``X``.

    Returns ``"complete"``, ``"quasi-complete"`` or ``None`` (the MLE exists).

    Notes
    -----
    With ``s_i = 2 y_i - 1`` and ``a_i = s_i x_i``, the data are (quasi-)separated when some
    ``b != 0`` has ``a_i' b >= 0`` for all ``i`` with at least one strict inequality (Albert &
    Anderson 1984).  Linear programme (Konis 2007): maximise ``sum_i a_i' b`` subject to
    ``a_i' b >= 0`` and ``-1 <= b_j <= 1``; a positive optimum means separation.  Complete
    separation (all strict) is then checked by maximising ``t`` subject to ``a_i' b >= t``,
    ``t <= 1``.  Columns are scaled to unit maximum absolute value first (the cone of separating
    directions is invariant to column scaling).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        return None
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    A = (2 * y - 1)[:, None] * Xs
    n, p = A.shape
    res = linprog(-A.sum(axis=0), A_ub=-A, b_ub=np.zeros(n), bounds=[(-1, 1)] * p, method="highs")
    if res.status != 0 or -res.fun <= tol * max(n, 1):
        return None
    c = np.zeros(p + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-A, np.ones((n, 1))])
    res2 = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), bounds=[(-1, 1)] * p + [(None, 1)], method="highs")
    if res2.status == 0 and -res2.fun > tol:
        return "complete"
    return "quasi-complete"


__all__ = ["Design", "build_design", "detect_separation", "outcome_array"]
