"""Dichotomising a continuous covariate at its ROC (Youden) cut-off, as the paper's Table 3.

The paper refits the stepwise model with each selected continuous variable replaced by
``x >= c``, ``c`` its Youden cut-off for the outcome.  For a variable whose *low* values predict
the outcome (a negative coefficient) the cut-off is found on ``-x`` and written back as
``x >= c`` with ``c`` the smallest observed value above the Youden threshold, so every
dichotomy reads the same way and its odds ratio is below 1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.roc import roc_analysis

__all__ = ["youden_dichotomy", "DICHOTOMY_COLUMNS"]

DICHOTOMY_COLUMNS = ["term", "direction", "cutoff", "auc", "auc_ci_low", "auc_ci_high", "sensitivity",
                     "specificity", "rule"]


def youden_dichotomy(x: pd.Series, y: pd.Series, direction: int, *, conf_level: float = 0.95) -> dict:
    """Youden cut-off of ``x`` for ``y`` in the direction of association, as ``x >= c``.

    Parameters
    ----------
    x, y : Series
        The covariate and the binary outcome; pairs with a missing value are dropped.
    direction : int
        ``>= 0``: high values predict the outcome; ``< 0``: low values do.
    conf_level : float

    Returns
    -------
    dict
        ``cutoff`` (an observed value of ``x``; NaN when no observed value lies above the
        threshold of a negative association), ``auc, auc_ci_low, auc_ci_high`` (DeLong, of the
        oriented marker), ``sensitivity, specificity`` (at the Youden point of the oriented
        marker), ``rule`` (in words).

    Raises
    ------
    base.errors.AnalysisError
        From :func:`analytics.roc.roc_analysis` (e.g. one outcome class only).
    """
    ok = x.notna() & y.notna()
    xv = x[ok].astype(float)
    yv = y[ok].astype(bool)
    if direction >= 0:
        r = roc_analysis(xv, yv, target_specificity=None, conf_level=conf_level)
        c = float(r.youden.cutoff)
        rule = "x >= c predicts the outcome"
    else:
        r = roc_analysis(-xv, yv, target_specificity=None, conf_level=conf_level)
        t = -float(r.youden.cutoff)
        above = np.sort(xv[xv > t].unique())
        c = float(above[0]) if len(above) else math.nan
        rule = f"x <= {t:g} predicts the outcome; dichotomised as x >= c (the next observed value)"
    return {"cutoff": c, "auc": r.auc, "auc_ci_low": r.ci_low, "auc_ci_high": r.ci_high,
            "sensitivity": r.youden.sensitivity, "specificity": r.youden.specificity, "rule": rule}
