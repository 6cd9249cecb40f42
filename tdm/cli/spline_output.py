"""How ``tdm roc --spline`` shows a concentration-response curve (text and JSON); no statistics here."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the CLI imports analytics when a command runs
    from analytics.spline import ConcentrationResponse


def _num(v: float, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NA"
    if math.isinf(v):
        return "not reached" if v > 0 else "-inf"
    return f"{v:.{digits}f}"


def spline_json(res: ConcentrationResponse) -> dict:
    """Every number of the curve and window (full precision; the caller makes floats JSON-safe)."""
    out = res.to_dict()
    out["method"] = "logistic regression on a restricted cubic spline (rms::rcs knots)"
    out["coefficients"] = res.coefficients.to_dict(orient="records")
    out["curve"] = res.curve.to_dict(orient="list")
    out["windows"] = res.windows.to_dict(orient="records")
    return out


def print_spline(con, res: ConcentrationResponse, marker: str, outcome: str) -> None:
    """A short table of the modelled rate over the marker and the window with its bootstrap CI."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from rich.table import Table

    pct = round(100 * res.conf_level)
    t = Table(title=f"Concentration-response: P({outcome}) by {marker} (restricted cubic spline, "
                    f"{res.n_knots} knots at {', '.join(f'{k:g}' for k in res.knots)}; pointwise {pct}% CI)")
    for col in (marker, f"P({outcome}) %", f"{pct}% CI"):
        t.add_column(col, justify="right")
    step = max(1, len(res.curve) // 10)
    for r in res.curve.iloc[::step].itertuples():
        t.add_row(f"{r.marker:g}", f"{100 * r.probability:.1f}", f"{100 * r.ci_low:.1f}-{100 * r.ci_high:.1f}")
    con.print(t)
    target = f"{100 * res.target:g}%"
    if math.isnan(res.window_low):
        con.print(f"Window: the modelled rate never reaches {target} within the observed {marker} range",
                  highlight=False)
        return
    top = res.curve.marker.max()
    end = f"the end of the data ({top:g})" if res.window_high == top else _num(res.window_high)
    ci = (f"; bootstrap {pct}% CI of the lower end {_num(res.window_low_ci_low)} to {_num(res.window_low_ci_high)} "
          f"({res.n_resamples} resamples, seed {res.seed}; {res.n_not_reached} never reach {target}, "
          f"{res.n_failed} not estimable)") if res.n_resamples else ""
    con.print(f"Window (modelled rate >= {target}): {marker} {_num(res.window_low)} to {end}{ci}", highlight=False)
