"""CLI commands: analysis (``tdm logistic``, ``tdm analyse``, ``tdm cutoffs``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from tdm.cli import app, HomeOpt



def _records(df) -> list[dict]:
    from tdm.publication import _jsonable

    return [{str(k): _jsonable(v) for k, v in zip(df.columns, row)} for row in df.itertuples(index=False, name=None)]


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v) or abs(v) >= 1e5 or (v != 0 and abs(v) < 10 ** -digits):
            return f"{v:.4g}"
        return f"{v:.{digits}f}"
    return str(v)


def _fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _print_table(title: str, df, columns: list[str], p_columns=("p_value",)) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for rec in _records(df[columns]):
        t.add_row(*[_fmt_p(rec[c]) if c in p_columns else _fmt(rec[c]) for c in columns])
    Console().print(t)


def _read_csv(path: Path):
    import pandas as pd

    from tdm.errors import FileRejected

    if not path.exists():
        raise FileRejected("file not found", file=str(path))
    try:
        return pd.read_csv(path)
    except Exception as exc:  # parse errors, encoding
        raise FileRejected(f"cannot read the CSV: {exc}", file=str(path)) from exc


@app.command()
def logistic(
    file: Path = typer.Argument(..., help="A CSV file with one row per patient."),
    outcome: str = typer.Option(..., "--outcome", help="Binary outcome column (0/1, true/false, yes/no)."),
    covariates: str = typer.Option(..., "--covariates", help="Comma-separated covariate columns."),
    stepwise: bool = typer.Option(False, "--stepwise", help="SAS-style stepwise selection (score in, Wald out)."),
    slentry: float = typer.Option(0.05, "--slentry", help="Significance level to enter (score chi-square)."),
    slstay: float = typer.Option(0.05, "--slstay", help="Significance level to stay (Wald chi-square)."),
    univariate: bool = typer.Option(False, "--univariate", help="Also print one model per covariate."),
    firth: bool = typer.Option(False, "--firth", help="Fit the (final) model by Firth's penalised likelihood, with "
                               "profile penalised-likelihood CIs and p (for separation; stepwise selection stays ML)."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON, full precision."),
) -> None:
    """Logistic regression on a CSV: ORs with Wald 95% CIs and p; optional stepwise selection steps."""
    from analytics.firth import fit_firth, univariate_firth
    from analytics.logistic import fit_logistic, univariate_logistic
    from analytics.stepwise import stepwise_logistic
    from tdm.errors import AnalysisError

    df = _read_csv(file)
    covs = [c.strip() for c in covariates.split(",") if c.strip()]
    if not covs:
        raise typer.BadParameter("give at least one covariate", param_hint="--covariates")
    try:
        if stepwise:
            res = stepwise_logistic(df, outcome, covs, slentry=slentry, slstay=slstay)
            model = res.final
            steps = res.steps
            extra = {"selected": list(res.selected), "stop_reason": res.stop_reason, "n": res.n,
                     "n_events": res.n_events, "n_dropped": res.n_dropped, "slentry": slentry, "slstay": slstay,
                     "messages": list(res.messages)}
        else:
            model = fit_logistic(df, outcome, covs)
            steps = None
            extra = {"n": model.n, "n_events": model.n_events, "n_dropped": model.n_dropped}
        if firth and model is not None:
            model = fit_firth(df, outcome, list(model.terms), complete_over=covs if stepwise else None)
        uni = None if not univariate else (univariate_firth(df, outcome, covs, when="always") if firth
                                           else univariate_logistic(df, outcome, covs))
    except ValueError as exc:
        raise AnalysisError(str(exc), file=str(file), code="bad_arguments") from exc

    if as_json:
        out = {"file": str(file), "outcome": outcome, "covariates": covs, "stepwise": stepwise, **extra}
        if steps is not None:
            out["steps"] = _records(steps)
        if model is not None and firth:
            out["model"] = {"method": model.method_label, "terms": list(model.terms), "separation": model.separation,
                            "converged": model.converged, "penalised_log_likelihood": model.penalised_log_likelihood,
                            "coefficients": _records(model.coefficients), "term_tests": _records(model.term_tests)}
        elif model is not None:
            out["model"] = {"terms": list(model.terms), "status": model.status, "converged": model.converged,
                            "messages": list(model.messages), "log_likelihood": model.log_likelihood,
                            "aic": model.aic, "coefficients": _records(model.coefficients),
                            "term_tests": _records(model.term_tests)}
        if uni is not None:
            out["univariate"] = _records(uni)
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return

    typer.echo(f"{file}: outcome {outcome}, n = {extra['n']} complete cases ({extra['n_events']} events, "
               f"{extra['n_dropped']} dropped)")
    if uni is not None:
        _print_table("Univariate models" + (" (Firth)" if firth else ""), uni,
                     ["column", "n", "odds_ratio", "ci_low", "ci_high", "p_value", "status"])
    if steps is not None:
        _print_table(f"Stepwise selection (SLENTRY={slentry}, SLSTAY={slstay})", steps,
                     ["step", "action", "term", "test", "statistic", "df", "p_value"])
        typer.echo(f"stopped: {extra['stop_reason']}; selected: {', '.join(extra['selected']) or '(none)'}")
    if model is not None and firth:
        _print_table("Model: Firth penalised likelihood (profile penalised-likelihood 95% CI and p)",
                     model.coefficients, ["column", "beta", "se", "odds_ratio", "ci_low", "ci_high", "p_value"])
        if model.separation:
            typer.echo(f"note: the data show {model.separation} separation: maximum likelihood has no finite "
                       "estimate; the Firth estimates are finite")
    elif model is not None:
        _print_table("Model (Wald 95% CI)", model.coefficients,
                     ["column", "beta", "se", "odds_ratio", "ci_low", "ci_high", "p_value"])
        if model.status != "ok":
            typer.echo(f"WARNING: {model.status}: {model.note} (ORs are not reported)")


@app.command()
def analyse(
    home: Path = HomeOpt,
    seed: int = typer.Option(None, "--seed", help="Bootstrap seed (default: drawn and recorded)."),
    target_specificity: float = typer.Option(0.8, "--target-specificity", help="Target specificity cut-off."),
    bootstrap_resamples: int = typer.Option(2000, "--bootstrap", help="Bootstrap resamples (0 to skip)."),
) -> None:
    """Run the study's analyses on the current snapshot and write a new versioned publication."""
    from flows.analyse import analyse_flow
    from tdm.config import load_settings

    settings = load_settings(home)
    # through the Prefect flow, so the publication's cut-off table also appears as an artifact
    s = analyse_flow(home=str(settings.home), seed=seed, target_specificity=target_specificity,
                     bootstrap_resamples=bootstrap_resamples)
    typer.echo(f"publication: {s.publication_id}")
    typer.echo(f"patients: {s.n_patients}; seed: {s.seed}; source files: {len(s.data_snapshot)}")
    if s.cutoff_table is not None and len(s.cutoff_table):
        _print_cutoffs(s.cutoff_table, f"IFX trough cut-offs for mucosal healing ({s.publication_id})")
    for sk in s.skipped:
        typer.echo(f"not computed: {sk['analysis']}: {sk['reason']}")
    typer.echo(f"folder: {s.folder}")
    typer.echo(f"report: {s.report_path}")


def _print_cutoffs(df, title: str) -> None:
    cols = [c for c in ("source", "cutoff", "sensitivity", "specificity", "ppv", "npv", "tp", "fp", "tn", "fn")
            if c in df.columns]
    _print_table(title, df, cols, p_columns=())


@app.command()
def cutoffs(
    home: Path = HomeOpt,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON, full precision."),
) -> None:
    """Print the latest publication's cut-off table (Table 4) from the read snapshot."""
    from tdm.config import load_settings
    from tdm.errors import AnalysisError
    from tdm.publication import latest_table

    settings = load_settings(home)
    pid, df = latest_table(settings, "table4_cutoffs")
    if pid is None:
        raise AnalysisError("no publication yet", code="no_publication", hint="run 'tdm analyse'")
    if as_json:
        typer.echo(json.dumps({"publication_id": pid, "rows": _records(df)}, indent=2, ensure_ascii=False))
        return
    if not len(df):
        typer.echo(f"{pid}: the cut-off table could not be computed (see not_computed in the publication)")
        return
    _print_cutoffs(df, f"IFX trough cut-offs for mucosal healing ({pid})")
