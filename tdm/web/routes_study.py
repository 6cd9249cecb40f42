"""Study-wide pages: publications (analysts, coordinator), the data dictionary (everyone signed in)
and account management (coordinator)."""

from __future__ import annotations

import json

import markdown
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from schema.docs import data_dictionary_markdown
from tdm.web.accounts import ROLES, AccountError
from tdm.web.auth import PUBLICATION_ROLES, checked_form, render, require
from tdm.web.data import publication_ids, publications
from tdm.web.security import Refused, safe_child

PUBLICATION_TYPES = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8",
                     ".png": "image/png", ".json": "application/json"}


async def publications_page(request: Request):
    require(request, *PUBLICATION_ROLES)
    pubs = await run_in_threadpool(publications, request.app.state.settings)
    return render(request, "publications.html", publications=pubs)


def _publication_folder(request: Request):
    pid = request.path_params["pid"]
    if pid not in publication_ids(request.app.state.settings):     # only recorded publications, by id
        raise Refused(404, "no such publication", code="not_found", value=pid)
    return pid, request.app.state.settings.published / pid


async def publication_page(request: Request):
    require(request, *PUBLICATION_ROLES)
    pid, folder = await run_in_threadpool(_publication_folder, request)
    meta_path = safe_child(folder, "publication.json", (".json",))
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    files = sorted(p.name for p in folder.iterdir()
                   if p.is_file() and not p.is_symlink() and p.suffix.lower() in PUBLICATION_TYPES)
    tables = [f for f in files if f.endswith(".csv")]
    figures = [f for f in files if f.endswith(".png")]
    return render(request, "publication.html", pid=pid, meta=meta, tables=tables, figures=figures)


async def publication_file(request: Request):
    require(request, *PUBLICATION_ROLES)
    _, folder = await run_in_threadpool(_publication_folder, request)
    path = safe_child(folder, request.path_params["name"], tuple(PUBLICATION_TYPES))
    suffix = path.suffix.lower()
    attach = suffix in (".csv", ".json")
    return FileResponse(path, media_type=PUBLICATION_TYPES[suffix], filename=path.name if attach else None,
                        content_disposition_type="attachment" if attach else "inline")


_DICTIONARY_HTML = Markup(markdown.markdown(data_dictionary_markdown(), extensions=["tables"]))  # our own text


async def dictionary_page(request: Request):
    require(request)
    return render(request, "dictionary.html", body=_DICTIONARY_HTML)


async def accounts_page(request: Request, *, error: str | None = None, notice: str | None = None, status=200):
    require(request, "coordinator")
    users = await run_in_threadpool(request.app.state.accounts.list_users)
    return render(request, "accounts.html", status=status, users=users, roles=ROLES,
                  centres=request.app.state.centres(), error=error, notice=notice)


async def accounts_post(request: Request):
    """Create an account, reset a password, disable or enable one (the CLI's ``tdm users`` does the same)."""
    session = require(request, "coordinator")
    form = await checked_form(request, session)
    store = request.app.state.accounts
    action = form.get("action")
    username = (form.get("username") or "").strip()
    try:
        if action == "add":
            await run_in_threadpool(store.add_user, username, form.get("password") or "", form.get("role") or "",
                                    (form.get("centre") or "").strip() or None, request.app.state.centres())
            notice = f"account {username} created"
        elif action == "passwd":
            await run_in_threadpool(store.set_password, username, form.get("password") or "")
            notice = f"password of {username} changed; their sessions were ended"
        elif action in ("disable", "enable"):
            if action == "disable" and username == session.user.username:
                raise AccountError("you cannot disable your own account", code="self_disable")
            await run_in_threadpool(store.set_disabled, username, action == "disable")
            notice = f"account {username} {action}d"
        else:
            raise Refused(400, "unknown account action", code="bad_action", value=action)
    except AccountError as exc:
        return await accounts_page(request, error=str(exc), status=400)
    return await accounts_page(request, notice=notice)


routes = [
    Route("/publications", publications_page),
    Route("/publications/{pid}", publication_page),
    Route("/publications/{pid}/files/{name}", publication_file),
    Route("/dictionary", dictionary_page),
    Route("/accounts", accounts_page),
    Route("/accounts", accounts_post, methods=["POST"]),
]
