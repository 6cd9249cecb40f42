"""CLI commands: centres (list/validate profiles, dry-run a file) and synth (synthetic exports)."""

from __future__ import annotations

from pathlib import Path

import typer

from tdm.cli import HomeOpt as _HomeOpt, app, home_settings
from tdm.config import load_settings


def _profiles(settings, *, validate_each: bool = False):
    """Profiles of the home (``<home>/centres``), falling back to the built-ins for missing ones."""
    from tdm.centres import BUILTIN_DIR
    from tdm.centres.profile import load_profile, load_profiles

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
    file: Path = typer.Option(None, "--file", "-f", help="Dry-run: adapt this export and summarise it."),
    centre: str = typer.Option(None, "--centre", "-c", help="Centre profile to use with --file."),
    home: Path = _HomeOpt,
) -> None:
    """List and validate the centre profiles; with --file, adapt one export without loading it."""
    from tdm.centres.profile import load_profile
    from tdm.errors import ConfigError, TdmError

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
    from tdm.centres import adapt_file
    from tdm.privacy import load_key

    if centre is None:
        centre = file.parent.name
    if centre not in profiles:
        raise ConfigError(f"unknown centre {centre!r}", value=centre,
                          hint=f"use --centre with one of {', '.join(sorted(profiles))}")
    try:
        a = adapt_file(file, profiles[centre], load_key(settings))
    except TdmError:
        raise
    typer.echo(f"{file.name}: spec '{a.spec.name}' ({a.kind}), {a.rows_read} data row(s)")
    for entity, df in a.frames.items():
        typer.echo(f"  {entity}: {len(df)} row(s)")
    typer.echo(f"  cell issues: {len(a.cell_issues)}")
    for r in a.cell_issues.head(20).itertuples():
        typer.echo(f"    line {r.source_line}: {r.message} [{r.rule}]")


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
    import time

    from tdm.cli.progress import Steps
    from tdm.synth import generate_cohort, write_exports

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
