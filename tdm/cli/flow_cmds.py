"""CLI commands: running the flows (ingest, watch, demo)."""

from __future__ import annotations

from pathlib import Path

import typer

from tdm.cli import app, HomeOpt
from tdm.config import load_settings



def _print_files(files) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="files processed")
    for col in ("centre", "file", "status", "read", "loaded", "warned", "rejected", "note"):
        table.add_column(col)
    for f in files:
        table.add_row(f["centre_id"], f["file_name"], f["status"], str(f["rows_read"]), str(f["rows_loaded"]),
                      str(f["rows_warned"]), str(f["rows_rejected"]), (f["message"] or "")[:80])
    Console().print(table)


def _require_key(settings) -> None:
    """A missing pseudonymisation key (production mode) is one clear message before any flow starts,
    not a failed flow run with a traceback."""
    from tdm.privacy import load_key

    load_key(settings)


@app.command()
def ingest(
    home: Path = HomeOpt,
    stable_seconds: float = typer.Option(5.0, help="A file is complete when unchanged for this long."),
) -> None:
    """Run one ingestion pass now over every centre's inbox."""
    from flows.ingest import ingest_flow

    settings = load_settings(home)
    _require_key(settings)
    summary = ingest_flow(home=str(settings.home), stable_seconds=stable_seconds)
    if summary.files:
        _print_files(summary.files)
    else:
        typer.echo("no complete files in the inboxes")
    for w in summary.warnings:
        typer.echo(f"warning: {w}")
    if summary.waiting:
        typer.echo(f"{len(summary.waiting)} file(s) still being written; they will be picked up on a later pass")


@app.command()
def watch(
    home: Path = HomeOpt,
    interval: float = typer.Option(60.0, help="Seconds between ingestion passes."),
    stable_seconds: float = typer.Option(5.0, help="A file is complete when unchanged for this long."),
    cron: str = typer.Option("0 2 * * *", help="When to rerun the analysis (cron, local time)."),
    analyse_after_load: bool = typer.Option(True, help="Also rerun the analysis after a pass that loaded rows."),
) -> None:
    """Watch the inboxes: ingest every INTERVAL seconds, analyse on schedule and after new data."""
    from flows.watch import watch as run_watch

    settings = load_settings(home)
    _require_key(settings)
    run_watch(str(settings.home), interval=interval, stable_seconds=stable_seconds, cron=cron,
              analyse_after_load=analyse_after_load, echo=typer.echo)


@app.command()
def demo(
    home: Path = HomeOpt,
    patients: int = typer.Option(300, help="Synthetic patients across all centres."),
    seed: int = typer.Option(42, help="Seed of the synthetic cohort."),
    errors: float = typer.Option(0.03, help="Fraction of rows with an injected export error."),
) -> None:
    """The whole story on a fresh home: synthetic exports -> ingestion -> analysis -> summary."""
    from tdm.demo import run_demo

    run_demo(load_settings(home), patients=patients, seed=seed, error_rate=errors, echo=typer.echo)
