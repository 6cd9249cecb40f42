"""CLI commands: data-clarification queries (``tdm queries list|show|answer|close|reopen``).

Thin over :mod:`warehouse.queries`: reads come from the lake (read-only), each change is one
short writer transaction; also ``tdm connect`` (how analysts open the lake themselves).  ``tdm review confirm`` (``review_cmds``) finds a
query from what a data manager reads in the report (patient, rule, column) and answers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from tdm.cli import HomeOpt, app, home_settings
from base.errors import TdmError

queries_app = typer.Typer(help="Data-clarification queries: every error and warning of a file, until fixed or "
                               "answered.", no_args_is_help=True)
app.add_typer(queries_app, name="queries")

ACTOR_HELP = "Who makes the change (recorded in the audit trail)."


@contextmanager
def snapshot(home: Path | None) -> Iterator:
    """A read-only connection on the lake."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse.lake import lake_exists, open_reader

    con = open_reader(home_settings(home).lake)
    try:
        yield con
    finally:
        con.close()


def print_queries(qs, now: dt.datetime | None = None) -> None:
    """One row per query (what a data manager needs to find it in the file), through
    :func:`tdm.cli.output.print_table`: pseudonyms and file ids are copied from it, never cut."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    import pandas as pd

    from tdm.cli.output import print_table

    if not qs:
        typer.echo("no queries")
        return
    # identifiers first: a table too wide for the terminal keeps its first and last columns, eliding
    # the middle (the long message first); one record per block shows everything for a few queries
    print_table(pd.DataFrame({
        "id": [q.query_id for q in qs], "patient": [q.patient_id for q in qs], "file": [q.last_file_id for q in qs],
        "line": [q.source_line for q in qs], "centre": [q.centre_id for q in qs], "rule": [q.rule for q in qs],
        "column": [q.column_name for q in qs], "value": [q.value for q in qs], "message": [q.message for q in qs],
        "record": [q.record for q in qs], "answer": [q.answer for q in qs], "state": [q.state for q in qs],
        "age (days)": [f"{q.age_days(now):.0f}" if q.state != "closed" else None for q in qs]}, dtype=object),
        right=("id", "file", "line", "age (days)"))
    typer.echo(f"{len(qs)} quer{'y' if len(qs) == 1 else 'ies'}")


def print_query(q, trail) -> None:
    for label, value in (("query", q.query_id), ("centre", q.centre_id), ("state", q.state),
                         ("answer", q.answer), ("answer reason", q.answer_reason), ("confirmed value", q.answered_value),
                         ("answered by", q.answered_by), ("closed", q.closed_reason), ("patient", q.patient_id),
                         ("record", q.record), ("column", q.column_name), ("value", q.value), ("rule", q.rule),
                         ("severity", q.severity), ("message", q.message), ("expected", q.expected),
                         ("how to fix", q.fix), ("first file", q.first_file_id), ("latest file", q.last_file_id),
                         ("line", q.source_line)):
        if value is not None:
            typer.echo(f"{label:>16}: {value}")
    typer.echo("history:")
    for e in trail:
        where = f" (file {e.file_id})" if e.file_id is not None else ""
        typer.echo(f"  {e.event_at:%Y-%m-%d %H:%M}  {e.action:<9} {e.old_state or '-'} -> {e.new_state}  "
                   f"by {e.actor}{where}: {e.reason}")


@queries_app.command("list")
def list_cmd(
    centre: str = typer.Option(None, "--centre", help="Only this centre."),
    state: str = typer.Option("open,answered", "--state",
                              help="Comma-separated states: open, answered, closed (or 'all')."),
    file_id: int = typer.Option(None, "--file-id", help="Only queries found in (or closed by) this file."),
    patient: str = typer.Option(None, "--patient", help="Only this patient (pseudonym, as in the report)."),
    home: Path = HomeOpt,
) -> None:
    """List queries (default: those still waiting: open or answered)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    states = None if state.strip() == "all" else [s.strip() for s in state.split(",") if s.strip()]
    with snapshot(home) as con:
        qs = Q.list_queries(con, centre_id=centre, file_id=file_id, states=states, patient_id=patient)
    print_queries(qs)


@queries_app.command("show")
def show_cmd(query_id: int = typer.Argument(..., help="Query id (from 'tdm queries list')."),
             home: Path = HomeOpt) -> None:
    """One query with its whole history (who, when, what, why)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    with snapshot(home) as con:
        q = Q.get_query(con, query_id)
        trail = Q.audit_trail(con, query_id)
    print_query(q, trail)


@queries_app.command("answer")
def answer_cmd(
    query_id: int = typer.Argument(..., help="Query id."),
    confirm: bool = typer.Option(False, "--confirm", help="The value is true as written (warnings only)."),
    will_correct: bool = typer.Option(False, "--will-correct", help="A corrected file will follow."),
    reason: str = typer.Option(..., "--reason", help="Why (e.g. 'true CRP 80: sepsis, chart checked')."),
    actor: str = typer.Option(..., "--by", help=ACTOR_HELP),
    centre: str = typer.Option(None, "--centre", help="Refuse unless the query is this centre's."),
    home: Path = HomeOpt,
) -> None:
    """Answer a query: --confirm the value, or --will-correct it."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    if confirm == will_correct:
        raise TdmError("an answer is either --confirm or --will-correct", code="usage",
                       hint="give exactly one of --confirm or --will-correct")
    with Q.write_session(home_settings(home)) as con:
        q = Q.answer_query(con, query_id, answer=Q.CONFIRMED if confirm else Q.WILL_CORRECT, reason=reason,
                           actor=actor, centre_id=centre)
    typer.echo(f"query {q.query_id}: {q.state} ({q.answer}) by {q.answered_by} at {q.answered_at:%Y-%m-%d %H:%M}")


@queries_app.command("close")
def close_cmd(
    query_id: int = typer.Argument(..., help="Query id."),
    reason: str = typer.Option(..., "--reason", help="Why the answer is accepted."),
    actor: str = typer.Option(..., "--by", help=ACTOR_HELP),
    home: Path = HomeOpt,
) -> None:
    """Study coordinator: accept an answered query and close it."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    with Q.write_session(home_settings(home)) as con:
        q = Q.close_query(con, query_id, reason=reason, actor=actor)
    typer.echo(f"query {q.query_id}: closed ({q.closed_reason})")


@queries_app.command("reopen")
def reopen_cmd(
    query_id: int = typer.Argument(..., help="Query id."),
    reason: str = typer.Option(..., "--reason", help="Why the answer no longer holds."),
    actor: str = typer.Option(..., "--by", help=ACTOR_HELP),
    centre: str = typer.Option(None, "--centre", help="Refuse unless the query is this centre's."),
    home: Path = HomeOpt,
) -> None:
    """Revoke an answer (or an acceptance): the query is open again."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from warehouse import queries as Q

    with Q.write_session(home_settings(home)) as con:
        q = Q.reopen_query(con, query_id, reason=reason, actor=actor, centre_id=centre)
    typer.echo(f"query {q.query_id}: {q.state}")


@app.command()
def connect(
    print_lines: bool = typer.Option(False, "--print", help="Print one line each for the DuckDB CLI, Python and R."),
    home: Path = HomeOpt,
) -> None:
    """How analysts open the warehouse (the lake) read-only in their own DuckDB, Python or R session."""
    # lazy: DuckDB costs 0.1-2 s at every tdm start-up (measured)
    from warehouse.lake import connect_lines

    settings = home_settings(home)
    lines = connect_lines(settings.lake)
    if not print_lines:
        typer.echo(f"warehouse: {settings.lake.url} (read it with 'tdm sql', or 'tdm connect --print' for a line "
                   "to paste into DuckDB, Python or R)")
        return
    for label, key in (("DuckDB CLI", "duckdb"), ("Python", "python"), ("R", "r")):
        typer.echo(f"# {label}")
        typer.echo(lines[key])
