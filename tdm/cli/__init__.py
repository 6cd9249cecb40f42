"""The ``tdm`` command line: one typer app, commands grouped by area in sibling modules.

No traceback reaches a user: :func:`main` turns every :class:`~tdm.errors.TdmError` into one clear
message on stderr and exit code 2 (1 for anything unexpected, with a pointer to ``TDM_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys

import typer

from tdm.errors import TdmError

app = typer.Typer(
    name="tdm",
    help="tdm-warehouse: infliximab TDM study data platform (ingest, validate, warehouse, analyse).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: The ``--home`` option every command that touches a home shares.
HomeOpt = typer.Option(None, "--home", help="TDM home folder (default: $TDM_HOME or ./tdm-home).")

# Each module registers its commands on ``app`` when imported.
from tdm.cli import (analysis_cmds, centre_cmds, core_cmds, flow_cmds, query_cmds, review_cmds,  # noqa: E402,F401
                     roc_cmds, web_cmds)


def main(argv: list[str] | None = None) -> int:
    from tdm.runtime import quiet_prefect_environment

    quiet_prefect_environment()
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except TdmError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error[/]: {exc}", highlight=False, markup=True)
        return 2
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        return int(code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return 1
        if os.environ.get("TDM_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set TDM_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


def run() -> None:  # console-script entry point
    sys.exit(main())
