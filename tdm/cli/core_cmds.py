"""CLI commands: set-up and inspection (init, status, sql, template, dictionary)."""

from __future__ import annotations

from pathlib import Path

import typer

from schema.docs import data_dictionary_markdown, template_csv, template_readme
from tdm.cli import Format, HomeOpt, app, home_settings
from base.config import load_settings
from tdm.prefect_server import describe, server_status
from base.runtime import prefect_home_under


@app.command()
def init(home: Path = HomeOpt) -> None:
    """Create the home folders and bring the warehouse up to the latest schema (idempotent)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from centres import install_builtin_profiles
    from centres.privacy import load_key
    from warehouse.init import init_warehouse
    from validators.dictionary_checks import warm_cache

    settings = load_settings(home)
    result = init_warehouse(settings)
    warm_cache(settings.cache)            # the dictionary checks' compiled SQL: later commands skip ibis
    installed = install_builtin_profiles(settings)
    if settings.mode == "demo":           # the home's one demo key; production keys come from the environment
        load_key(settings, create=True)
    typer.echo(f"home: {settings.home}")
    for line in result.lines():
        typer.echo(line)
    typer.echo(f"warehouse: {settings.lake.url} (schema revision {result.revision})")
    for centre in installed:
        typer.echo(f"centre profile: {centre}")


@app.command()
def status(home: Path = HomeOpt) -> None:
    """Centres, files received/loaded/rejected, the last publication, and this home's Prefect server."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from tdm.status import collect_status, render_status

    settings = home_settings(home)
    render_status(collect_status(settings))
    typer.echo(describe(server_status(prefect_home_under(settings.home))))


@app.command()
def sql(
    query: str = typer.Argument(..., help="A read-only SQL query (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)."),
    format: Format = typer.Option("table", "--format", "-f", help="table (fits the terminal) | csv | json"),
    home: Path = HomeOpt,
) -> None:
    """Run a read-only query on the warehouse (the lake as last committed) and print the result."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from tdm.cli.output import print_frame
    from warehouse.readonly import run_readonly_query

    settings = home_settings(home)
    df = run_readonly_query(settings.lake, query)
    print_frame(df, format, echo=typer.echo)
    if format == "table":
        typer.echo(f"{len(df)} row(s)")


@app.command()
def template(out: Path = typer.Option(Path("."), "--out", "-o", help="Folder to write into.")) -> None:
    """Write the canonical export template (CSV headers) and its README for centres."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "tdm-template.csv").write_text(template_csv(), encoding="utf-8")
    (out / "tdm-template-README.md").write_text(template_readme(), encoding="utf-8")
    typer.echo(f"wrote {out / 'tdm-template.csv'} and {out / 'tdm-template-README.md'}")


@app.command()
def dictionary(out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout.")) -> None:
    """Print the harmonised data dictionary (Markdown)."""
    text = data_dictionary_markdown()
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text, nl=False)
