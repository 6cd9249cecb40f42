"""CLI commands: running the flows (ingest, watch, demo) and the home's Prefect server (prefect).

``tdm ingest`` looks at the inboxes before it starts Prefect: an empty pass answers "no complete
files" in well under a second and starts nothing; with files in sight it starts the home's Prefect
server first, so that it boots while the command imports and plans; files are ingested by the
Prefect flow.  SIGINT / SIGTERM stop the
pass after the file in hand (exit 130 / 143); the rest stays in the inbox for the next pass.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
from pathlib import Path

import typer

from base.config import load_settings
from base.runtime import STOP, graceful_stop, imports_without_gc, prefect_home_under, received_signal
from tdm.cli import HomeOpt, app, home_settings
from tdm.cli.output import print_table
from tdm.cli.progress import file_progress
from tdm.prefect_server import PrefectApi, describe, server_status, stop_server


def _print_files(files) -> None:
    # lazy: start-up (pandas costs ~0.5 s; tdm --help must not pay it)
    import pandas as pd


    cols = ["centre_id", "file_name", "file_id", "status", "rows_read", "rows_loaded", "rows_warned",
            "rows_rejected", "message"]
    df = pd.DataFrame(list(files)).reindex(columns=cols)
    df["file_id"] = df["file_id"].astype("Int64")
    print_table(df.rename(columns={"centre_id": "centre", "file_name": "file", "rows_read": "read",
                                   "rows_loaded": "loaded", "rows_warned": "warned", "rows_rejected": "rejected",
                                   "message": "note"}), title="files processed")


def _require_key(settings) -> None:
    """A missing pseudonymisation key is one clear message before any flow starts,
    not a failed flow run with a traceback."""
    # lazy: start-up (cryptography, only for commands that need the key)
    from centres.privacy import load_key

    load_key(settings)


#: What a flow run imports lazily on its first call (Prefect's engine, parameter encoding through
#: FastAPI, artifacts, the flow graph helper; pyarrow's dataset layer that DuckDB's Arrow export
#: loads): imported while the home's server boots instead of after it is ready (~0.3 s CPU).
FLOW_RUN_IMPORTS = ("prefect.engine", "prefect.artifacts", "prefect.utilities.visualization", "fastapi.encoders",
                    "pyarrow.dataset")


def prefect_api_for(settings):
    """The (not yet entered) :class:`~tdm.prefect_server.PrefectApi` of this home's flows."""

    return PrefectApi(Path(os.environ.get("PREFECT_HOME") or ".prefect"), settings.prefect_server_idle)


@contextlib.contextmanager
def flow_api(settings, api=None, flow_modules: tuple[str, ...] = ()):
    """A Prefect API for the flows of one command: the configured server, or this home's loopback
    server, reused or started before Prefect is imported (:mod:`tdm.prefect_server`; ``api``: one
    the command entered earlier, so the server's start overlapped its own work); no run heartbeat
    (a one-shot run has no supervisor to tell it crashed).  Prefect, ``flow_modules`` (the
    command's flows) and :data:`FLOW_RUN_IMPORTS` are imported before waiting for a starting server."""

    with contextlib.ExitStack() as stack:
        if api is None:
            api = stack.enter_context(prefect_api_for(settings))
        lease = stack.enter_context(api.use())
        with imports_without_gc():      # while the server boots on the other core
            # lazy: Prefect reads PREFECT_HOME and its settings when imported, so its server is chosen first
            from prefect.context import SettingsContext, get_settings_context

            for name in flow_modules:
                importlib.import_module(name)
            for name in FLOW_RUN_IMPORTS:
                with contextlib.suppress(ImportError):    # optional ones (graphviz) may be absent
                    importlib.import_module(name)
        if lease is not None:
            lease.wait_ready()
        # the heartbeat off for this command's runs: a copy of the settings in force, with no
        # re-validation (``temporary_settings`` re-reads every source: ~22 ms of CPU, measured; the
        # setting cannot be switched off through the environment)
        ctx = get_settings_context()
        flows = ctx.settings.flows.model_copy(update={"heartbeat_frequency": None})
        with SettingsContext(profile=ctx.profile, settings=ctx.settings.model_copy(update={"flows": flows})):
            yield


def inbox_may_hold_files(settings) -> bool:
    """A hint, not a decision (that is :func:`ingestion.plan_pass`): whether some centre folder of
    the inbox holds an entry that is not hidden, checked with one ``scandir`` per folder before
    anything heavy is imported, so that ``tdm ingest`` can start the home's Prefect server first and
    an empty inbox starts nothing."""
    try:
        with os.scandir(settings.inbox) as centres:
            folders = [e.path for e in centres if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
        for folder in folders:
            with os.scandir(folder) as entries:
                if any(not e.name.startswith(".") for e in entries):
                    return True
    except OSError:
        return False
    return False


def _stopped_line(signum: int, not_started: int) -> str:

    name = signal.Signals(signum).name
    return (f"stopped by {name} after the current file; {not_started} complete file(s) left in the inbox "
            "for the next pass")


@app.command()
def ingest(
    home: Path = HomeOpt,
    stable_seconds: float = typer.Option(5.0, help="A file is complete when unchanged for this long."),
) -> None:
    """Run one ingestion pass now over every centre's inbox."""

    settings = home_settings(home)
    with contextlib.ExitStack() as stack:
        # files in sight: the home's Prefect server starts first, booting on the other core while this
        # command imports its stages and plans the pass (issue 14: the first command after the idle stop)
        api = stack.enter_context(prefect_api_for(settings)) if inbox_may_hold_files(settings) else None
        with imports_without_gc():
            # lazy: start-up (the stages import pandas and DuckDB; imported while the server boots)
            import ingestion as stages
            from centres.profile import load_profiles_isolated

        _require_key(settings)
        profiles, broken = load_profiles_isolated(settings.centres_dir)
        held = stages.held_centres(settings, broken)
        found = stages.plan_pass(settings, profiles, stable_seconds=stable_seconds, held=held)
        if found.ready:

            with graceful_stop(), flow_api(settings, api, flow_modules=("flows.ingest",)):
                # lazy: Prefect is imported once its server is configured, while the server boots
                from flows.ingest import ingest_flow

                with file_progress(len(found.ready)):
                    summary = None if STOP.is_set() else ingest_flow(home=str(settings.home),
                                                                      stable_seconds=stable_seconds)
            if summary is None:   # stopped before the flow started
                files, warnings, waiting, held_lines, not_started = (), found.warnings, found.waiting, (), \
                    len(found.ready)
            else:
                files, warnings, waiting, held_lines = summary.files, summary.warnings, summary.waiting, summary.held
                not_started = summary.not_started
        else:   # nothing to ingest: no flow run (a server started on the hint is stopped on leaving)
            stages.publish_held(settings, held)
            files, warnings, waiting, held_lines, not_started = (), found.warnings, found.waiting, \
                tuple(h.line() for h in held), 0
    if files:
        _print_files(files)
    else:
        typer.echo("no complete files in the inboxes")
    for w in warnings:
        typer.echo(f"warning: {w}")
    for line in held_lines:
        typer.echo(f"held: {line}", err=True)
    if waiting:
        typer.echo(f"{len(waiting)} file(s) still being written; they will be picked up on a later pass")
    signum = received_signal() if found.ready else None
    if signum:
        typer.echo(_stopped_line(signum, not_started), err=True)
        raise typer.Exit(128 + signum)
    if held_lines:
        raise typer.Exit(2)


@app.command()
def watch(
    home: Path = HomeOpt,
    interval: float = typer.Option(60.0, help="Seconds between ingestion passes."),
    stable_seconds: float = typer.Option(5.0, help="A file is complete when unchanged for this long."),
    cron: str = typer.Option("0 2 * * *", help="When to rerun the analysis (cron, local time)."),
    analyse_after_load: bool = typer.Option(True, help="Also rerun the analysis after a pass that loaded rows."),
) -> None:
    """Watch the inboxes: ingest every INTERVAL seconds, analyse on schedule and after new data."""
    # lazy: Prefect is imported once its server is configured
    from flows.watch import watch as run_watch

    settings = home_settings(home)
    _require_key(settings)
    with flow_api(settings):
        run_watch(str(settings.home), interval=interval, stable_seconds=stable_seconds, cron=cron,
                  analyse_after_load=analyse_after_load, echo=typer.echo)


@app.command()
def demo(
    home: Path = HomeOpt,
    patients: int = typer.Option(300, min=1, help="Synthetic patients across all centres."),
    seed: int = typer.Option(42, help="Seed of the synthetic cohort."),
    errors: float = typer.Option(0.03, min=0.0, max=1.0, help="Fraction of rows with an injected export error."),
) -> None:
    """The whole story on a fresh home: synthetic exports -> ingestion -> analysis -> summary."""
    # lazy: start-up (the demo imports the synthetic generator and the warehouse)
    from tdm.demo import run_demo

    settings = load_settings(home)          # demo (like init) may create its home
    prefect_home_under(settings.home)
    with flow_api(settings):
        run_demo(settings, patients=patients, seed=seed, error_rate=errors, echo=typer.echo)


prefect_app = typer.Typer(help="This home's loopback Prefect server (started on demand, stops itself when idle).",
                          no_args_is_help=True)
app.add_typer(prefect_app, name="prefect")


@prefect_app.command("status")
def prefect_status(home: Path = HomeOpt) -> None:
    """Whether this home's Prefect server runs, on which port, and how long it has been idle."""

    settings = home_settings(home)
    typer.echo(describe(server_status(prefect_home_under(settings.home))))


@prefect_app.command("stop")
def prefect_stop(home: Path = HomeOpt) -> None:
    """Stop this home's Prefect server now (refused while a command uses it); the next flow starts one."""

    settings = home_settings(home)
    typer.echo(stop_server(prefect_home_under(settings.home)))
