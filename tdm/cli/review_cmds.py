"""CLI commands: warning reviews (``tdm review confirm|list``) and the data-quality scorecard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from tdm.cli import HomeOpt, app, home_settings
from tdm.errors import TdmError


review_app = typer.Typer(help="Confirm validation warnings as correct (e.g. a true extreme lab value).",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("confirm")
def confirm(
    centre: str = typer.Option(..., "--centre", help="Centre id."),
    patient: str = typer.Option(..., "--patient", help="Pseudonymised patient id (as in the report)."),
    rule: str = typer.Option(..., "--rule", help="Warning rule code, e.g. lab_value_implausible."),
    column: str = typer.Option(None, "--column", help="Column the warning is about (default: every column)."),
    reason: str = typer.Option(..., "--reason", help="Why the value is correct."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who confirms it."),
    home: Path = HomeOpt,
) -> None:
    """Mark a warning as confirmed-correct so it stops being reported for this patient."""
    from tdm.warehouse.connection import open_writer, publish_snapshot
    from validators.registry import RULES

    r = RULES.get(rule)
    if r is None or r.severity != "warning":
        warnings = ", ".join(sorted(n for n, x in RULES.items() if x.severity == "warning"))
        raise TdmError(f"'{rule}' is not a warning rule; only warnings can be confirmed", code="not_a_warning",
                       value=rule, hint=f"use one of: {warnings}")
    if not reason.strip() or not reviewer.strip():
        raise TdmError("a review needs a reason and a reviewer", code="review_incomplete")
    settings = home_settings(home)
    now = dt.datetime.now().replace(microsecond=0)
    with open_writer(settings.warehouse) as con:
        con.execute(
            "INSERT INTO ingest.reviews (centre_id, patient_id, rule, column_name, reason, reviewer, reviewed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", [centre, patient, rule, column, reason.strip(), reviewer.strip(), now])
        publish_snapshot(con, settings.warehouse, settings.snapshot)
    where = f" column {column}" if column else ""
    typer.echo(f"confirmed {rule}{where} for {centre}/{patient} by {reviewer} at {now.isoformat()}")


@review_app.command("list")
def list_reviews(
    centre: str = typer.Option(None, "--centre", help="Only this centre."),
    home: Path = HomeOpt,
) -> None:
    """List confirmed warnings (who, when, why)."""
    from tdm.warehouse.connection import open_reader

    settings = home_settings(home)
    con = open_reader(settings.snapshot)
    try:
        sql = ("SELECT centre_id, patient_id, rule, column_name, reason, reviewer, reviewed_at "
               "FROM ingest.reviews")
        params: list = []
        if centre:
            sql += " WHERE centre_id = ?"
            params.append(centre)
        df = con.execute(sql + " ORDER BY reviewed_at DESC", params).df()
    finally:
        con.close()
    if df.empty:
        typer.echo("no reviews")
        return
    from tdm.cli.output import print_table

    print_table(df)          # pseudonyms are copied from here: never truncated
    typer.echo(f"{len(df)} review(s)")


@app.command()
def scorecard(
    centre: str = typer.Option(None, "--centre", help="Only this centre (default: every centre with files)."),
    out: Path = typer.Option(None, "--out", "-o", help="Folder to write into (default: reports/<centre>/)."),
    home: Path = HomeOpt,
) -> None:
    """Write the data-quality scorecard (completeness, rule failure rates, files over time) per centre."""
    from tdm.reports import write_scorecard
    from tdm.warehouse.connection import open_reader

    settings = home_settings(home)
    if centre:
        centres = [centre]
    else:
        con = open_reader(settings.snapshot)
        try:
            centres = [r[0] for r in con.execute(
                "SELECT DISTINCT centre_id FROM ingest.files ORDER BY centre_id").fetchall()]
        finally:
            con.close()
    if not centres:
        typer.echo("no files received yet")
        return
    for c in centres:
        path = write_scorecard(settings, c, out)
        typer.echo(f"wrote {path}")
