"""CLI commands: analysis (``tdm logistic``, ``tdm analyse``, ``tdm cutoffs``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from tdm.cli import Format, FormatOpt, HomeOpt, app, home_settings
from tdm.cli.progress import step_progress
from base.errors import AnalysisError, FileRejected



def _records(df) -> list[dict]:
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from tdm.cli.output import records

    return records(df)


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if abs(v) >= 1e5 or (v != 0 and abs(v) < 10 ** -digits):
            return f"{v:.4g}"
        return f"{v:.{digits}f}"
    return str(v)


def _fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _print_table(title: str, df, columns: list[str], p_columns=("p_value",)) -> None:
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from tdm.cli.output import print_table

    formats = {c: (_fmt_p if c in p_columns else _fmt) for c in columns}
    print_table(df[columns], title=title, formats=formats,
                right=[c for c in columns if c not in ("column", "term", "action", "test", "status", "source")])


def _read_csv(path: Path):
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    import pandas as pd


    if not path.exists():
        raise FileRejected("file not found", file=str(path), code="file_not_found")
    try:
        return pd.read_csv(path)
    except Exception as exc:  # parse errors, encoding
        raise FileRejected(f"cannot read the CSV: {exc}", file=str(path), code="unreadable") from None


def _split(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _typed_covariates(df, file: Path, outcome: str, covs: list[str], categorical: list[str]):
    """``df`` with each covariate typed as asked: numeric unless listed in ``--categorical``.

    A covariate with a non-numeric cell is an error naming file, line, column and value (a trough
    column with ``<0.4`` must never become 217 dummy terms); categorical ones become text levels."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from analytics._rocbase import as_marker

    unknown = [c for c in dict.fromkeys([outcome, *covs, *categorical]) if c not in df.columns]
    if unknown:
        raise FileRejected(f"column(s) not found: {', '.join(unknown)}", file=str(file), code="missing_column", hint=f"available columns: {', '.join(map(str, df.columns))}")
    stray = [c for c in categorical if c not in covs]
    if stray:
        raise typer.BadParameter(f"{', '.join(stray)} not among --covariates", param_hint="--categorical")
    df = df.copy()
    for c in covs:
        if c in categorical:
            df[c] = df[c].astype("string")
            continue
        try:
            df[c] = as_marker(df[c], name=c, line_offset=2)     # the header is line 1
        except AnalysisError as exc:
            exc.file = str(file)
            exc.message = f"covariate {c} must be numeric"
            exc.hint = (f"correct the cell, or give --categorical {c} if {c} is a categorical variable "
                        "(one indicator per level)")
            raise
    return df


@app.command()
def logistic(
    file: Path = typer.Argument(..., help="A CSV file with one row per patient."),
    outcome: str = typer.Option(..., "--outcome", help="Binary outcome column (0/1, true/false, yes/no)."),
    covariates: str = typer.Option(..., "--covariates", help="Comma-separated covariate columns (numeric)."),
    categorical: str = typer.Option(None, "--categorical",
                                    help="Comma-separated covariates to fit as categorical (one indicator per level)."),
    stepwise: bool = typer.Option(False, "--stepwise", help="SAS-style stepwise selection (score in, Wald out)."),
    slentry: float = typer.Option(0.05, "--slentry", help="Significance level to enter (score chi-square)."),
    slstay: float = typer.Option(0.05, "--slstay", help="Significance level to stay (Wald chi-square)."),
    univariate: bool = typer.Option(False, "--univariate", help="Also print one model per covariate."),
    firth: bool = typer.Option(False, "--firth", help="Fit the (final) model by Firth's penalised likelihood, with "
                               "profile penalised-likelihood CIs and p (for separation; stepwise selection stays ML)."),
    format: Format = FormatOpt,
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Logistic regression on a CSV: ORs with Wald 95% CIs and p; optional stepwise selection steps."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from analytics.firth import fit_firth, univariate_firth
    from analytics.logistic import fit_logistic, univariate_logistic
    from analytics.stepwise import stepwise_logistic

    covs = _split(covariates)
    if not covs:
        raise typer.BadParameter("give at least one covariate", param_hint="--covariates")
    format = "json" if as_json else format
    df = _typed_covariates(_read_csv(file), file, outcome, covs, _split(categorical))
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
    except AnalysisError as exc:
        exc.file = exc.file or str(file)
        raise
    except ValueError as exc:
        raise AnalysisError(str(exc), file=str(file), code="bad_arguments") from exc

    if format == "json":
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
    if format == "csv":
        # lazy: start-up (pandas costs ~0.5 s; tdm --help must not pay it)
        import pandas as pd

        parts = [("univariate", uni), ("steps", steps), ("model", model.coefficients if model is not None else None)]
        frames = [p.assign(table=name) for name, p in parts if p is not None]
        long = pd.concat(frames, ignore_index=True)
        typer.echo(long[["table", *[c for c in long.columns if c != "table"]]].to_csv(index=False).rstrip("\n"))
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
    as_of: str = typer.Option(None, "--as-of", metavar="PUBLICATION_ID",
                              help="Recompute this publication from the lake snapshot it read and compare it "
                                   "table for table (writes nothing; exit 1 if any table differs)."),
) -> None:
    """Run the study's analyses on the lake and write a new versioned publication (or, with --as-of,
    reproduce an earlier one from its snapshot)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from tdm.cli.flow_cmds import flow_api

    settings = home_settings(home)
    if as_of:
        # lazy: start-up (the publication stack: pandas, DuckDB, statsmodels)
        from publication.as_of import recompute_as_of

        with step_progress("recomputing"):
            r = recompute_as_of(settings, as_of)
        typer.echo(f"publication {r.publication_id} recomputed as of lake snapshot {r.lake_snapshot}: "
                   f"{len(r.rows)} tables, {sum(r.rows.values())} rows")
        for name, what in r.differences.items():
            typer.echo(f"differs: {name}: {what}")
        typer.echo("identical, table for table" if r.identical else f"{len(r.differences)} table(s) differ")
        raise typer.Exit(0 if r.identical else 1)
    # through the Prefect flow, so the publication's cut-off table also appears as an artifact
    with flow_api(settings, flow_modules=("flows.analyse",)), step_progress("analysing"):
        # lazy: Prefect is imported once its server is configured (flow_api imports it while a starting server boots)
        from flows.analyse import analyse_flow

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
    typer.echo(f"pdf: {s.pdf_path}" if s.pdf_path else f"pdf: {s.pdf_message}")


def _print_cutoffs(df, title: str) -> None:
    cols = [c for c in ("source", "cutoff", "sensitivity", "specificity", "ppv", "npv", "tp", "fp", "tn", "fn")
            if c in df.columns]
    _print_table(title, df, cols, p_columns=())


@app.command()
def cutoffs(
    home: Path = HomeOpt,
    format: Format = FormatOpt,
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Print the latest publication's cut-off table (Table 4) from the read snapshot."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from publication import latest_table

    settings = home_settings(home)
    pid, df = latest_table(settings, "table4_cutoffs")
    if pid is None:
        raise AnalysisError("no publication yet", code="no_publication", hint="run 'tdm analyse'")
    if as_json or format == "json":
        typer.echo(json.dumps({"publication_id": pid, "rows": _records(df)}, indent=2, ensure_ascii=False))
        return
    if format == "csv":
        typer.echo(df.to_csv(index=False).rstrip("\n"))
        return
    if not len(df):
        typer.echo(f"{pid}: the cut-off table could not be computed (see not_computed in the publication)")
        return
    _print_cutoffs(df, f"IFX trough cut-offs for mucosal healing ({pid})")
