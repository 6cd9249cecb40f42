"""Regenerate the small fixed datasets used for the R golden values (run once; outputs are checked in).

    /tmp/venv0/bin/python tests/analytics/data/make_data.py
"""
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def logistic_small() -> pd.DataFrame:
    rng = np.random.default_rng(20240607)
    n = 90
    x1 = np.round(rng.normal(4, 2, n), 2)
    x2 = rng.random(n) < 0.4
    x3 = np.round(rng.normal(0, 1, n), 3)
    g = rng.choice(["a", "b", "c"], n)
    eta = -1.2 + 0.35 * x1 - 0.8 * x2 + 0.1 * x3 + np.where(g == "c", 0.7, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    df = pd.DataFrame({"y": y, "x1": x1, "x2": x2.astype(int), "x3": x3, "g": g})
    df.loc[[3, 17], "x3"] = np.nan
    return df


def groups_small() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 40
    grp = np.repeat([0, 1], [22, 18])
    cont = np.round(np.where(grp == 1, rng.normal(4.5, 1.5, n), rng.normal(3.4, 1.5, n)), 1)  # rounded: ties
    cat = np.where(rng.random(n) < np.where(grp == 1, 0.2, 0.05), "yes", "no")
    cat3 = rng.choice(["B1", "B2", "B3"], n, p=[0.7, 0.2, 0.1])
    other = np.round(rng.normal(250, 60, n), 1)
    return pd.DataFrame({"grp": grp, "cont": cont, "cat": cat, "cat3": cat3, "other": other})


if __name__ == "__main__":
    logistic_small().to_csv(HERE / "logistic_small.csv", index=False)
    groups_small().to_csv(HERE / "groups_small.csv", index=False)
