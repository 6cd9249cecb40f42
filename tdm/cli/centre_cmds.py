"""CLI commands: centres (list/validate profiles, dry-run a file: the full report) and synth (synthetic exports)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from tdm.cli import HomeOpt as _HomeOpt, app, home_settings
from tdm.cli.progress import Steps
from base.config import load_settings
from base.errors import ConfigError, TdmError


def _profiles(settings, *, validate_each: bool = False):
    """Profiles of the home (``<home>/centres``), falling back to the built-ins for missing ones."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from centres import BUILTIN_DIR
    from centres.profile import load_profile, load_profiles

    profiles = load_profiles(BUILTIN_DIR)
    if settings.centres_dir.is_dir():
        if validate_each:
            for path in sorted(settings.centres_dir.glob("*.y*ml")):
                p = load_profile(path)
                profiles[p.centre_id] = p
        else:
            profiles.update(load_profiles(settings.centres_dir))
    return profiles


@app.command()
def centres(
    file: Path = typer.Option(None, "--file", "-f",
                              help="Dry run: check this export as ingestion would (every rule), load nothing."),
    centre: str = typer.Option(None, "--centre", "-c", help="Centre profile to use with --file."),
    out: Path = typer.Option(None, "--out", "-o",
                             help="Folder for the dry run's report (default: reports/<centre>/dry-run/)."),
    home: Path = _HomeOpt,
) -> None:
    """List and validate the centre profiles; with --file, tell whether one export would pass (nothing loaded)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from centres.profile import load_profile

    settings = home_settings(home)
    problems = 0
    if settings.centres_dir.is_dir():
        for path in sorted(settings.centres_dir.glob("*.y*ml")):
            try:
                load_profile(path)
            except ConfigError as exc:
                problems += 1
                typer.echo(f"INVALID {path.name}: {exc}", err=True)
    profiles = _profiles(settings) if not problems else {}
    if problems:
        raise typer.Exit(2)
    if file is None:
        for cid, p in sorted(profiles.items()):
            src = p.source_path or ""
            typer.echo(f"{cid}: {p.name}  [{src}]")
            for spec in p.files:
                fmt = "/".join(x for x, o in (("csv", spec.csv), ("xlsx", spec.xlsx)) if o is not None)
                typer.echo(f"  - {spec.name} ({spec.kind}, {fmt}): {', '.join(spec.patterns)}")
        typer.echo(f"{len(profiles)} profile(s) valid")
        return
    # lazy: start-up (pandas, DuckDB or Prefect cost 0.1-2 s at every tdm start-up, measured)
    from ingestion import dry_run
    from centres.privacy import load_key
    from ingestion.reports import write_dry_run_report

    if centre is None:
        centre = file.parent.name
    if centre not in profiles:
        raise ConfigError(f"unknown centre {centre!r}", value=centre,
                          hint=f"use --centre with one of {', '.join(sorted(profiles))}")
    if not file.is_file():
        raise TdmError("no such file", code="no_such_file", file=str(file), hint="give the path of an export")
    prepared = dry_run(settings, profiles[centre], file, load_key(settings))
    report = write_dry_run_report(settings, prepared, out)
    _print_dry_run(prepared, report)


def _print_dry_run(prepared, report: Path, limit: int = 50) -> None:
    """The dry run in the terminal: the verdict, the counts, the findings, where the report is."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from validators.report_page import STATUS_TEXT

    r = prepared.result
    name = prepared.candidate.path.name
    if r is None:
        typer.echo(f"{name}: would be: {STATUS_TEXT['rejected']}: {prepared.error}")
    else:
        typer.echo(f"{name}: would be: {STATUS_TEXT[r.status]} (nothing loaded: dry run)")
        if r.file_error is not None:
            typer.echo(f"  {r.file_error}")
        typer.echo(f"  {r.rows_read} line(s) read: {r.rows_loaded} would load ({r.rows_warned} of them with "
                   f"warnings), {r.rows_rejected} would be rejected")
        shown = r.issues[r.issues["severity"] != "file_error"]
        for f in shown.head(limit).itertuples():
            line = "" if f.source_line is None or f.source_line != f.source_line else f"line {f.source_line}: "
            col = f" {f.column_name} = {f.value}" if f.column_name else ""
            expected = f" (expected: {f.expected})" if f.expected else ""
            typer.echo(f"  {line}{f.severity}{col}: {f.message}{expected} [{f.rule}]")
            if f.fix:
                typer.echo(f"      how to fix: {f.fix}")
        if len(shown) > limit:
            typer.echo(f"  ... {len(shown) - limit} more finding(s) in the report")
        if r.warnings_suppressed:
            typer.echo(f"  {r.warnings_suppressed} warning(s) not shown: confirmed as true values")
    typer.echo(f"report: {report}")


@app.command()
def synth(
    patients: int = typer.Option(200, "--patients", "-n", min=1, help="Number of patients (all centres)."),
    centres: str = typer.Option("smc,sch,knuh", "--centres", help="Comma-separated centre ids."),
    seed: int = typer.Option(0, "--seed", help="Random seed (recorded in the manifest)."),
    errors: float = typer.Option(0.0, "--errors", min=0.0, max=1.0,
                                 help="Share of each centre's patients given one injected error."),
    out: Path = typer.Option(None, "--out", "-o",
                             help="Write exports to OUT/<centre>/ (default: <home>/inbox/<centre>/)."),
    truth: Path = typer.Option(None, "--truth",
                               help="Ground truth + manifest folder (default: OUT/truth, or <home>/synth)."),
    csv_only: bool = typer.Option(False, "--csv", help="Write workbook centres as CSV instead of XLSX."),
    home: Path = _HomeOpt,
) -> None:
    """Generate a seeded synthetic multicentre cohort in each centre's own export format."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from synth import generate_cohort, write_exports

    # with --out nothing is written to a home: the built-in profiles (plus the home's, if any) suffice
    settings = load_settings(home) if out is not None else home_settings(home)
    ids = [c.strip() for c in centres.split(",") if c.strip()]
    profiles = _profiles(settings)
    unknown = [c for c in ids if c not in profiles]
    if unknown:
        raise typer.BadParameter(f"unknown centre(s) {', '.join(unknown)}; profiles: {', '.join(sorted(profiles))}")
    t0 = time.perf_counter()
    out_dir = out if out is not None else settings.inbox
    truth_dir = truth if truth is not None else (out / "truth" if out is not None else settings.home / "synth")
    fmt = {c: "csv" for c in ids} if csv_only else None
    with Steps("synthesising", 3) as steps:
        cohort = generate_cohort(patients, ids, seed)
        steps.done(f"cohort: {len(cohort.patients)} patients ({time.perf_counter() - t0:.1f} s)")
        manifest = write_exports(cohort, profiles, out_dir, error_rate=errors, seed=seed, file_format=fmt)
        steps.done(f"exports: {len(manifest.files)} file(s) in {out_dir} ({time.perf_counter() - t0:.1f} s)")
        cohort.save(truth_dir)
        manifest.save(truth_dir)
        steps.done(f"truth and manifest: {truth_dir}")
    for r in manifest.files.itertuples():
        typer.echo(f"{r.centre_id}: {r.file} ({r.rows} rows)")
    typer.echo(f"{len(cohort.patients)} patients, seed {seed}, {len(manifest.injected)} injected error(s); "
               f"truth and manifest in {truth_dir} ({time.perf_counter() - t0:.1f} s)")
