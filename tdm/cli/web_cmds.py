"""CLI commands: the web app (``tdm serve``) and its accounts (``tdm users add|list|passwd|disable|enable``)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import typer

from tdm.cli import HomeOpt, app, home_settings
from base.errors import TdmError
from tdm.web.accounts import account_store

users_app = typer.Typer(help="Web app accounts: data managers (one centre), the coordinator, analysts.",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", help="TCP port."),
    public_name: list[str] = typer.Option([], "--public-name",
                                          help="Host name the app is reached by through a reverse proxy "
                                               "(repeatable); requests for any other host are refused."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                        help="Mark cookies Secure and send HSTS (when served over HTTPS)."),
    home: Path = HomeOpt,
) -> None:
    """Start the web app: data managers' workspace, coordinator and analyst pages (Ctrl-C stops it)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    import uvicorn

    from tdm.web.app import LOOPBACK_HOSTS, create_app

    settings = home_settings(home)
    if not settings.centres_dir.exists():
        raise TdmError(f"{settings.home} is not an initialised home", code="no_home", hint="run 'tdm init' first")
    if not _is_loopback(host) and not secure_cookies:
        raise TdmError(f"refusing to listen on {host} without --secure-cookies", code="insecure_listen",
                       hint="serve on 127.0.0.1 (the default) behind an HTTPS reverse proxy, or pass "
                            "--secure-cookies when TLS terminates in front of this address")
    allowed = LOOPBACK_HOSTS + list(public_name) + ([] if _is_loopback(host) else [host])
    web = create_app(settings, allowed_hosts=allowed, secure_cookies=secure_cookies)
    if not web.state.accounts.list_users():
        typer.echo("no accounts yet: create one with 'tdm users add NAME --role coordinator'", err=True)
    typer.echo(f"serving {settings.home} on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _store(home):
    return account_store(home_settings(home).home)


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="User name (lower-case letters, digits, '.', '_', '-')."),
    role: str = typer.Option(..., "--role", help="data_manager | coordinator | analyst"),
    centre: str = typer.Option(None, "--centre", help="The data manager's centre id."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    home: Path = HomeOpt,
) -> None:
    """Create a web app account (the password is asked twice, or read from stdin)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from tdm.web.data import configured_centres

    settings = home_settings(home)
    store = _store(home)
    user = store.add_user(username, _password(password_stdin), role, centre, configured_centres(settings))
    where = f" of centre {user.centre_id}" if user.centre_id else ""
    typer.echo(f"created {user.username}: {user.role_text}{where}")


@users_app.command("list")
def users_list(home: Path = HomeOpt) -> None:
    """List the accounts (role, centre, created, disabled)."""
    users = _store(home).list_users()
    if not users:
        typer.echo("no accounts")
        return
    for u in users:
        state = f"disabled {u.disabled_at}" if u.disabled_at else "active"
        typer.echo(f"{u.username}\t{u.role}\t{u.centre_id or '-'}\t{u.created_at}\t{state}")


@users_app.command("passwd")
def users_passwd(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    home: Path = HomeOpt,
) -> None:
    """Set a new password (ends the user's sessions, lifts a lock)."""
    _store(home).set_password(username, _password(password_stdin))
    typer.echo(f"password of {username} changed")


@users_app.command("disable")
def users_disable(username: str = typer.Argument(...), home: Path = HomeOpt) -> None:
    """Disable an account (its sessions end at once; the account and its history are kept)."""
    _store(home).set_disabled(username, True)
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def users_enable(username: str = typer.Argument(...), home: Path = HomeOpt) -> None:
    """Re-enable a disabled account."""
    _store(home).set_disabled(username, False)
    typer.echo(f"enabled {username}")
