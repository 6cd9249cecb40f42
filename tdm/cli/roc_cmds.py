"""CLI commands: ROC analysis on any exported table (``tdm roc FILE.csv --marker ... --outcome ...``).

The command reads the CSV with pandas and calls the same functions an analyst calls in Python
(:func:`analytics.roc.roc_analysis`, :func:`analytics.cutoffs.cutoff_table`).  Conventions are
fixed and printed: positive class = outcome true/1/yes; higher marker predicts the outcome;
test positive when ``marker >= c``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from tdm.cli import Format, FormatOpt, app
from tdm.cli.spline_output import print_spline, spline_json
from base.errors import AnalysisError, FileRejected


def _parse_cutoffs(text: str | None) -> list[float] | None:
    if text is None:
        return None
    text = text.strip()
    if text.lower() in ("", "none"):
        return []
    out = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            raise typer.BadParameter(f"--cutoffs must be comma-separated numbers, got {part!r}") from None
        if not math.isfinite(v):
            raise typer.BadParameter(f"--cutoffs must be finite numbers, got {part!r}")
        out.append(v)
    return out


def _json_safe(obj):
    """Full-precision JSON: floats as repr (17 significant digits); NaN (not estimable) as null, which
    every JSON reader accepts; +-inf (an unbounded cut-off or CI end) as the strings "Infinity"/"-Infinity"."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
    return obj


def _read(path: Path, marker: str, outcome: str):
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    import pandas as pd

    if not path.exists():
        raise FileRejected("file not found", file=str(path), code="file_not_found")
    try:
        df = pd.read_csv(path, sep=None, engine="python")
    except Exception as exc:  # unreadable / not a CSV
        raise FileRejected(f"cannot read the CSV: {exc}", file=str(path), code="unreadable") from None
    missing = [c for c in (marker, outcome) if c not in df.columns]
    if missing:
        raise FileRejected(
            f"column(s) not found: {', '.join(missing)}",
            file=str(path),
            column=missing[0],
            code="missing_column",
            hint=f"available columns: {', '.join(map(str, df.columns))}",
        )
    return df


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "NA"
        if math.isinf(v):
            return "inf"
        return f"{v:.{digits}f}"
    return str(v)


def _lr_reason(note: str, name: str) -> str:
    """The zero cell behind an infinite, zero or undefined LR: "FP=0: LR+ infinite, CI undefined" -> "FP=0"."""
    label = "LR+" if name == "lr_positive" else "LR-"
    for part in (note or "").split("; "):
        if label in part:
            return part.split(":")[0] + ", no CI"
    return "no CI"


def _pct_ci(m, name: str) -> str:
    return f"{100 * getattr(m, name):.1f}% ({100 * getattr(m, name + '_ci_low'):.1f}-{100 * getattr(m, name + '_ci_high'):.1f})" \
        if not math.isnan(getattr(m, name)) else "NA"


@app.command()
def roc(
    file: Path = typer.Argument(..., help="CSV file (one row per patient)."),
    marker: str = typer.Option(..., "--marker", help="Numeric marker column (higher predicts the outcome)."),
    outcome: str = typer.Option(..., "--outcome", help="Binary outcome column: 0/1, true/false or yes/no."),
    cutoffs: str = typer.Option(
        "3,3.5,4.5,5,5.3,6,8.5", "--cutoffs", help="Comma-separated fixed cut-offs for the table ('none' for none)."
    ),
    target_specificity: float = typer.Option(0.8, "--target-specificity", help="Lowest cut-off with specificity >= this."),
    target_sensitivity: float | None = typer.Option(
        None, "--target-sensitivity", help="Highest cut-off with sensitivity >= this."
    ),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level of all CIs."),
    ci_method: str = typer.Option("clopper-pearson", "--ci-method", help="clopper-pearson | wilson (proportions)."),
    format: Format = FormatOpt,
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    curve: bool = typer.Option(False, "--curve", help="With --json: include the full ROC curve."),
    spline: bool = typer.Option(False, "--spline", help="Also the concentration-response curve (logistic regression "
                                "on a restricted cubic spline) and the window where it reaches --window-target."),
    knots: int = typer.Option(4, "--knots", help="With --spline: number of knots, 3-7 (placed as R rms::rcs)."),
    window_target: float = typer.Option(0.8, "--window-target", help="With --spline: outcome rate defining the window."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="With --spline: resamples for the window's CI (0: none)."),
    seed: int | None = typer.Option(None, "--seed", help="With --spline: bootstrap seed (drawn and shown if omitted)."),
) -> None:
    """ROC analysis: AUC with DeLong CI, Youden and target cut-offs (rule marker >= c), cut-off table."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from analytics.cutoffs import cutoff_table
    from analytics.roc import roc_analysis
    from analytics.spline import concentration_response

    for name, v in (("--target-specificity", target_specificity), ("--target-sensitivity", target_sensitivity)):
        if v is not None and not 0 < v <= 1:
            raise typer.BadParameter(f"{name} must be a proportion in (0, 1], e.g. 0.8; got {v}")
    if ci_method not in ("clopper-pearson", "wilson"):
        raise typer.BadParameter(f"--ci-method must be one of: clopper-pearson, wilson; got {ci_method!r}")
    if not 0 < conf_level < 1:
        raise typer.BadParameter(f"--conf-level must be between 0 and 1, e.g. 0.95; got {conf_level}")
    if spline and not (3 <= knots <= 7 and 0 < window_target < 1 and bootstrap >= 0):
        raise typer.BadParameter(f"--knots must be 3-7, --window-target in (0, 1), --bootstrap >= 0; got {knots}, "
                                 f"{window_target}, {bootstrap}")
    fixed = _parse_cutoffs(cutoffs)
    df = _read(file, marker, outcome)
    try:
        # lazy: start-up (pandas, DuckDB or Prefect cost 0.1-2 s at every tdm start-up, measured)
        from analytics._rocbase import as_marker, as_outcome

        as_marker(df[marker], name=marker, line_offset=2)  # header is line 1
        as_outcome(df[outcome], name=outcome, line_offset=2)
        res = roc_analysis(df[marker], df[outcome], target_specificity=target_specificity,
                           target_sensitivity=target_sensitivity, conf_level=conf_level, ci_method=ci_method,
                           marker_name=marker, outcome_name=outcome)
        table = cutoff_table(df[marker], df[outcome], fixed, target_specificity=target_specificity,
                             target_sensitivity=target_sensitivity, conf_level=conf_level, ci_method=ci_method)
        sp = concentration_response(df[marker], df[outcome], n_knots=knots, target=window_target, n_resamples=bootstrap,
                                    seed=seed, conf_level=conf_level) if spline else None
    except AnalysisError as exc:
        exc.file = exc.file or str(file)
        raise
    if format == "csv":   # the cut-off table, every column at full precision
        typer.echo(table.to_csv(index=False).rstrip("\n"))
        return
    if as_json or format == "json":
        out = res.to_dict(include_curve=curve)
        out["file"] = str(file)
        out["conventions"] = {
            "positive_class": f"{outcome} true/1/yes",
            "direction": "higher marker predicts the positive outcome",
            "rule": "test positive when marker >= cutoff",
            "auc_ci": "DeLong, truncated to [0, 1]",
            "proportion_ci": ci_method,
            "likelihood_ratio_ci": "log method (Simel 1991)",
            "ties": "exact: tied marker values are never split; AUC counts case-control ties as 1/2",
        }
        out["cutoff_table"] = table.to_dict(orient="records")
        if sp is not None:
            out["spline"] = spline_json(sp)
        typer.echo(json.dumps(_json_safe(out), indent=2, allow_nan=False))
        return

    # lazy: start-up (pandas, DuckDB or Prefect cost 0.1-2 s at every tdm start-up, measured)
    import pandas as pd
    from rich.console import Console

    from tdm.cli.output import print_table

    con = Console(highlight=False, soft_wrap=True)
    pct = round(100 * conf_level)
    con.print(f"[bold]ROC[/]: {marker} for {outcome} ({file})", highlight=False)
    con.print(f"n = {res.n} ({res.n_positive} with {outcome}, {res.n_negative} without; "
              f"{res.n_dropped} dropped for a missing value)", highlight=False)
    con.print(f"AUC {res.auc:.3f} ({pct}% CI {res.ci_low:.3f}-{res.ci_high:.3f}, DeLong); "
              f"p vs 0.5 {_fmt(res.p_value, 4) if res.p_value >= 1e-4 else '<0.0001'}", highlight=False)
    for label, m in (("Youden-optimal", res.youden),
                     (f"target specificity {target_specificity:g}", res.target_specificity),
                     (f"target sensitivity {target_sensitivity:g}" if target_sensitivity else None, res.target_sensitivity)):
        if label is None:
            continue
        if m is None:
            con.print(f"{label}: not reachable on these data", highlight=False)
            continue
        con.print(f"{label}: >= {m.cutoff:g}  sens {_pct_ci(m, 'sensitivity')}, spec {_pct_ci(m, 'specificity')}, "
                  f"PPV {_pct_ci(m, 'ppv')}, NPV {_pct_ci(m, 'npv')}", highlight=False)
    if len(res.youden_ties) > 1:
        con.print(f"note: Youden J tied at {', '.join(f'{v:g}' for v in res.youden_ties)}; the lowest is reported",
                  highlight=False)

    rows = []
    for r in table.itertuples():
        def p(name):
            v = getattr(r, name)
            if math.isnan(v):
                return "NA"
            return f"{100 * v:.1f} ({100 * getattr(r, name + '_ci_low'):.1f}-{100 * getattr(r, name + '_ci_high'):.1f})"

        def lr(name):
            v, lo, hi = getattr(r, name), getattr(r, name + "_ci_low"), getattr(r, name + "_ci_high")
            if math.isnan(lo) or math.isnan(hi):   # a zero cell: say which, instead of "inf (NA-NA)"
                return f"{_fmt(v, 2)} ({_lr_reason(r.lr_note, name)})"
            return f"{_fmt(v, 2)} ({_fmt(lo, 2)}-{_fmt(hi, 2)})"

        rows.append({"cut-off": f">= {r.cutoff:g}", "source": r.source, "TP": str(r.tp), "FP": str(r.fp),
                     "TN": str(r.tn), "FN": str(r.fn), "sens %": p("sensitivity"), "spec %": p("specificity"),
                     "PPV %": p("ppv"), "NPV %": p("npv"), "LR+": lr("lr_positive"), "LR-": lr("lr_negative")})
    shown = pd.DataFrame(rows, columns=["cut-off", "source", "TP", "FP", "TN", "FN", "sens %", "spec %", "PPV %",
                                        "NPV %", "LR+", "LR-"])
    print_table(shown, title=f"Cut-off table ({pct}% CIs: {ci_method} for proportions, log method for LRs)",
                right=[c for c in shown.columns if c != "source"], console=con)
    notes = [f">= {r.cutoff:g}: {r.lr_note}" for r in table.itertuples() if r.lr_note]
    for n in notes:
        con.print(f"note: {n}", highlight=False)
    if sp is not None:
        print_spline(con, sp, marker, outcome)
    con.print("Conventions: positive class = outcome true/1/yes; higher marker predicts it; test positive "
              "when marker >= cut-off; cut-offs are observed values; ties exact (AUC counts ties 1/2).",
              highlight=False)
