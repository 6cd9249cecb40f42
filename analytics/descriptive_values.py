"""Table 1's numbers at full precision (the published ``table1`` holds them formatted as the paper prints them).

One long row per variable (and level) and group, from the same :class:`analytics.descriptive.Variable`
specifications and the same summaries (:func:`analytics.descriptive.describe`, the same quartile
definition and the same missing-value rules), so the CSV carries what the report rounds.
"""

from __future__ import annotations

import pandas as pd

from analytics.descriptive import SAS_QUANTILES, Variable, _as_bool, describe

__all__ = ["table1_values", "TABLE1_VALUE_COLUMNS"]

TABLE1_VALUE_COLUMNS = ["variable", "level", "group", "n", "count", "percent", "mean", "sd", "median", "q1", "q3"]


def table1_values(data: pd.DataFrame, variables: list[Variable], *, by: str | None = None,
                  quantile_method: str = SAS_QUANTILES) -> pd.DataFrame:
    """Long numeric Table 1: ``variable, level, group`` ("all" or the ``by`` value as text), ``n``
    (non-missing), ``count`` and ``percent`` (binary: true; categorical: the level) or ``mean, sd,
    median, q1, q3`` (continuous)."""
    groups = [("all", pd.Series(True, index=data.index))]
    if by is not None:
        g = data[by]
        groups += [(str(v), g == v) for v in sorted(pd.unique(g.dropna()), key=lambda v: (str(type(v)), v))]
    rows = []
    for var in variables:
        s = data[var.name]
        for gname, sel in groups:
            part = s[sel.fillna(False).to_numpy(bool)]
            if var.kind == "continuous":
                d = describe(part, quantile_method=quantile_method).iloc[0]
                rows.append({"variable": var.name, "level": "", "group": gname, "n": int(d["n"]),
                             **{k: d[k] for k in ("mean", "sd", "median", "q1", "q3")}})
            elif var.kind == "binary":
                b = _as_bool(part)
                n = int(b.notna().sum())
                k = int(b.fillna(False).sum())
                rows.append({"variable": var.name, "level": "", "group": gname, "n": n, "count": k,
                             "percent": 100 * k / n if n else float("nan")})
            else:
                ok = part.notna()
                n = int(ok.sum())
                levels = list(var.levels) if var.levels else sorted(pd.unique(s.dropna().astype(str)))
                text = part.astype(str)
                for lv in levels:
                    k = int((ok & (text == lv)).sum())
                    rows.append({"variable": var.name, "level": lv, "group": gname, "n": n, "count": k,
                                 "percent": 100 * k / n if n else float("nan")})
    return pd.DataFrame(rows, columns=TABLE1_VALUE_COLUMNS)
