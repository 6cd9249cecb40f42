"""The ``tdm`` command line: one typer app, commands grouped by area in sibling modules.

No traceback reaches a user.  :func:`main` maps every outcome to one exit code:

* 0 success; 2 a usage error (click's usage line and message) or a :class:`~base.errors.TdmError`
  (one clear message: what, where, how to fix), including a missing home;
* 130 / 143 interrupted by SIGINT / SIGTERM (``tdm ingest`` stops after the current file);
* 1 anything unexpected, with a pointer to ``TDM_DEBUG=1``.

Every ``TDM_*`` variable is read and validated once, before any command runs
(:func:`base.config.load_settings`): a bad value exits 2 naming the variable.

Typer ships its own copy of click (``typer._click``), so its exceptions are caught from there: the
standalone ``click`` package's classes never match them (shared/stack-notes.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import typer

from tdm import __version__
from base.config import load_settings, require_home
from base.errors import TdmError
from base.runtime import own_process, prefect_home_under, quiet_library_warnings, quiet_prefect_environment

from typer.core import TyperGroup

try:  # typer >= 0.2x bundles click; fall back to the standalone package for older typer
    from typer import _click as click
except ImportError:  # pragma: no cover - depends on the installed typer
    import click

click_exceptions = click.exceptions

#: Commands in the order of the work, as ``tdm --help`` lists them.
COMMAND_ORDER = ("init", "template", "centres", "synth", "ingest", "watch", "status", "review", "scorecard",
                 "analyse", "cutoffs", "sql", "roc", "logistic", "dictionary", "demo")


class _WorkOrderGroup(TyperGroup):
    def list_commands(self, ctx):  # noqa: D102 - click API
        names = super().list_commands(ctx)
        rank = {n: i for i, n in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="tdm",
    help="tdm-warehouse: infliximab TDM study data platform (ingest, validate, warehouse, analyse).",
    cls=_WorkOrderGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tdm {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """tdm-warehouse: infliximab TDM study data platform (ingest, validate, warehouse, analyse)."""


#: The ``--home`` option every command that touches a home shares.
HomeOpt = typer.Option(None, "--home", help="TDM home folder (default: $TDM_HOME or ./tdm-home).")

#: ``--format`` of the commands that print tables (typer turns the Literal into a choice).
Format = Literal["table", "csv", "json"]
FormatOpt = typer.Option("table", "--format", help="table (for people) | csv | json (full precision, for programs).")


def home_settings(home: Path | None):
    """The settings of an existing, initialised home, with Prefect's state under it.

    Only ``tdm init`` and ``tdm demo`` create a home (and its pseudonymisation key); every other
    command stops here on a missing or uninitialised one, so a mistyped TDM_HOME never becomes a
    second warehouse with a second key."""
    settings = require_home(load_settings(home))
    prefect_home_under(settings.home)
    return settings


# Each module registers its commands on ``app`` when imported.
from tdm.cli import (analysis_cmds, centre_cmds, core_cmds, flow_cmds, query_cmds, review_cmds,  # noqa: E402,F401
                     roc_cmds, web_cmds)


def main(argv: list[str] | None = None) -> int:
    quiet_prefect_environment()
    debug = False
    try:
        debug = load_settings().debug        # every TDM_* variable checked before any command runs
        quiet_library_warnings(debug)
        rv = app(args=argv, standalone_mode=False, prog_name="tdm")
        return rv if isinstance(rv, int) else 0
    except TdmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except click_exceptions.ClickException as exc:   # usage errors: click's usage line + message
        exc.show()
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the unexpected
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set TDM_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


def run() -> None:  # console-script entry point
    own_process()
    sys.exit(main())
