"""CLI commands: confirming warnings (``tdm review confirm|revoke|list``) and the data-quality scorecard."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from tdm.cli import HomeOpt, app, home_settings
from tdm.cli.centre_cmds import _profiles
from tdm.cli.query_cmds import print_queries, snapshot
from base.errors import TdmError


review_app = typer.Typer(help="Confirm a warning as a true value (e.g. a real extreme lab result), or revoke it.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


def _known_centres(settings) -> list[str]:
    return sorted(_profiles(settings))


def _patient_ids(settings, patient: str) -> list[str]:
    """What ``--patient`` may mean: the pseudonym itself, or a study number (pseudonymised here)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    import pandas as pd

    from centres.privacy import PSEUDONYM_HEX_CHARS, PSEUDONYM_PREFIX, load_key, pseudonymise

    given = patient.strip()
    if re.fullmatch(f"{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}", given):
        return [given]                    # a pseudonym as in the report: no key needed
    return [given, *pseudonymise(pd.Series([given]), load_key(settings)).dropna()]


def find_finding(con, settings, *, centre: str, patient: str, rule: str | None, column: str | None,
                 record: str | None, value: str | None, query_id: int | None):
    """The one waiting query a data manager means (open or answered, of their centre), or a clear
    error: an unknown centre, no such finding (with what there is for that patient), or several
    (with their ids, to choose with --query or --record)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    if centre not in _known_centres(settings):
        raise TdmError(f"there is no centre '{centre}'", code="unknown_centre", value=centre,
                       hint=f"use one of: {', '.join(_known_centres(settings))}")
    if query_id is not None:
        return Q.get_query(con, query_id, centre_id=centre)
    ids = _patient_ids(settings, patient)
    waiting = [q for q in Q.list_queries(con, centre_id=centre, states=[Q.OPEN, Q.ANSWERED])
               if q.patient_id in ids]
    match = [q for q in waiting if (rule is None or q.rule == rule) and (column is None or q.column_name == column)
             and (record is None or (q.record or "").startswith(record)) and (value is None or q.value == value)]
    if len(match) == 1:
        return match[0]
    asked = ", ".join(f"{k} {v}" for k, v in (("rule", rule), ("column", column), ("record", record),
                                              ("value", value)) if v is not None)
    listing = "; ".join(f"query {q.query_id}: {q.rule} on {q.column_name} = {q.value} ({q.record or 'no record'})"
                        for q in (match or waiting)[:10])
    if not match:
        where = f"patient {patient} of centre {centre}"
        raise TdmError(f"no open finding for {where}" + (f" with {asked}" if asked else ""),
                       code="no_such_finding", value=patient,
                       hint=(f"this patient's open findings are: {listing}" if waiting else
                             "check the patient (the pseudonym in the report, or the study number) and the centre; "
                             "'tdm queries list --centre " + centre + "' lists what is open"))
    raise TdmError(f"{len(match)} open findings match; a confirmation is for exactly one",
                   code="ambiguous_finding", hint=f"add --query ID (or --record / --value): {listing}")


@review_app.command("confirm")
def confirm(
    centre: str = typer.Option(..., "--centre", help="Centre id."),
    patient: str = typer.Option(..., "--patient", help="Patient: the pseudonym in the report, or the study number."),
    rule: str = typer.Option(..., "--rule", help="Warning rule code, e.g. lab_value_implausible."),
    column: str = typer.Option(None, "--column", help="Column as in the report, e.g. albumin_g_dl or pcdai."),
    record: str = typer.Option(None, "--record", help="The record (a date, YYYY-MM-DD) when the patient has several."),
    value: str = typer.Option(None, "--value", help="The value as in the report, when in doubt."),
    query_id: int = typer.Option(None, "--query", help="The query id (from 'tdm queries list') instead."),
    reason: str = typer.Option(..., "--reason", help="Why the value is correct."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who confirms it."),
    home: Path = HomeOpt,
) -> None:
    """Confirm exactly one warning as a true value; it is not reported again unless the value changes."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q
    from validators.registry import RULES

    r = RULES.get(rule)
    if r is None or r.severity != "warning":
        warnings = ", ".join(sorted(n for n, x in RULES.items() if x.severity == "warning"))
        raise TdmError(f"'{rule}' is not a warning rule; only warnings can be confirmed", code="not_a_warning",
                       value=rule, hint=f"use one of: {warnings}")
    settings = home_settings(home)
    with Q.write_session(settings) as con:
        q = find_finding(con, settings, centre=centre, patient=patient, rule=rule, column=column, record=record,
                         value=value, query_id=query_id)
        q = Q.answer_query(con, q.query_id, answer=Q.CONFIRMED, reason=reason, actor=reviewer, centre_id=centre)
    typer.echo(f"confirmed query {q.query_id}: {q.rule} on {q.column_name} = {q.value} for {centre}/{q.patient_id} "
               f"({q.record or 'no record'}) by {q.answered_by} at {q.answered_at:%Y-%m-%d %H:%M}")


@review_app.command("revoke")
def revoke(
    centre: str = typer.Option(..., "--centre", help="Centre id."),
    query_id: int = typer.Option(..., "--query", help="The confirmed query's id ('tdm review list')."),
    reason: str = typer.Option(..., "--reason", help="Why the confirmation no longer holds."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who revokes it."),
    home: Path = HomeOpt,
) -> None:
    """Revoke a confirmation: the query is open again and the warning is reported again."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    settings = home_settings(home)
    with Q.write_session(settings) as con:
        if centre not in _known_centres(settings):
            raise TdmError(f"there is no centre '{centre}'", code="unknown_centre", value=centre)
        q = Q.reopen_query(con, query_id, reason=reason, actor=reviewer, centre_id=centre)
    typer.echo(f"revoked: query {q.query_id} is {q.state} again")


@review_app.command("list")
def list_reviews(
    centre: str = typer.Option(None, "--centre", help="Only this centre."),
    home: Path = HomeOpt,
) -> None:
    """List confirmed warnings (who, when, why), still in force."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    with snapshot(home) as con:
        qs = [q for q in Q.list_queries(con, centre_id=centre, states=[Q.ANSWERED, Q.CLOSED])
              if q.answer == Q.CONFIRMED]
    print_queries(qs)
    for q in qs:
        typer.echo(f"query {q.query_id}: confirmed by {q.answered_by} at {q.answered_at:%Y-%m-%d %H:%M}: "
                   f"{q.answer_reason}")


@app.command()
def scorecard(
    centre: str = typer.Option(None, "--centre", help="Only this centre (default: every centre with files)."),
    out: Path = typer.Option(None, "--out", "-o", help="Folder to write into (default: reports/<centre>/)."),
    home: Path = HomeOpt,
) -> None:
    """Write the data-quality scorecard (completeness, rule failure rates, files over time) per centre."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from ingestion.reports import write_scorecard
    from warehouse.lake import lake_exists, open_reader

    settings = home_settings(home)
    if centre:
        centres = [centre]
    else:
        con = open_reader(settings.lake)
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
