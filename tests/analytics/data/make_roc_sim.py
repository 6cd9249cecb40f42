"""Regenerate ``roc_sim.csv``: a deterministic simulated cohort for the ROC golden values.

150 patients in 3 centres; ``trough_ug_ml`` rounded to 0.1 (many ties) with 12 below-LLOQ
values analysed as LLOQ/2 = 0.2 (a large tied group); ``albumin_g_l`` a second, weaker marker on
the same patients (paired DeLong); ``mh`` the outcome.  Run: ``python make_roc_sim.py``.
The golden values in the tests were computed by R pROC 1.18 on the checked-in CSV.
"""

from pathlib import Path

import numpy as np
import pandas as pd


def make(seed: int = 20261107, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centre = rng.choice(["A", "B", "C"], size=n, p=[0.4, 0.35, 0.25])
    latent = rng.normal(0, 1, n)
    mh = latent + rng.normal(0, 1.2, n) > 0
    trough = np.exp(1.3 + 0.35 * latent + rng.normal(0, 0.45, n))
    trough = np.round(trough, 1)
    below = rng.random(n) < 0.08
    trough[below] = 0.2  # LLOQ 0.4 -> analysed as 0.2
    albumin = np.round(38 + 2.0 * latent + rng.normal(0, 4, n))
    return pd.DataFrame({"patient": np.arange(1, n + 1), "centre": centre,
                         "trough_ug_ml": trough, "albumin_g_l": albumin, "mh": mh.astype(int)})


if __name__ == "__main__":
    make().to_csv(Path(__file__).with_name("roc_sim.csv"), index=False)
