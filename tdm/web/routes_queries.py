"""Query pages over the query workflow (:mod:`warehouse.queries`; no query storage here).

A data manager answers their centre's open queries (confirm a true value, with a reason; or "will
correct"); the coordinator closes answered ones (accepts the answer); either revokes an answer.
Reads come from the snapshot; each change is one short writer transaction that republishes it.  The
query id in a URL is looked up *with the centre* of the URL, already checked against the session,
so another centre's query is "not found".
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from tdm.web.auth import checked_form, render, require, require_centre
from tdm.web.data import centre_queries, query_and_trail, query_summary
from warehouse import queries as Q
from tdm.web.security import Refused

STATE_FILTERS = {"active": [Q.OPEN, Q.ANSWERED], "open": [Q.OPEN], "answered": [Q.ANSWERED],
                 "closed": [Q.CLOSED], "all": None}


def _state_filter(request: Request) -> tuple[str, list[str] | None]:
    name = request.query_params.get("state", "active")
    if name not in STATE_FILTERS:
        raise Refused(400, f"unknown state filter {name!r}", code="bad_filter",
                      hint=f"use one of: {', '.join(STATE_FILTERS)}")
    return name, STATE_FILTERS[name]


def _file_filter(request: Request) -> int | None:
    raw = request.query_params.get("file")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise Refused(400, "the file filter must be a file number", code="bad_filter", value=raw)
    return int(raw)


async def centre_queries_page(request: Request):
    centre = request.path_params["centre"]
    require_centre(request, centre)
    name, states = _state_filter(request)
    file_id = _file_filter(request)
    qs = await run_in_threadpool(centre_queries, request.app.state.settings, centre, states, file_id)
    return render(request, "queries.html", centre=centre, queries=qs, state_filter=name, filters=STATE_FILTERS,
                  file_id=file_id)


async def study_queries_page(request: Request):
    """The coordinator's view: counts and ages per centre, and every answered query to accept."""
    require(request, "coordinator")
    settings = request.app.state.settings
    summary = await run_in_threadpool(query_summary, settings)
    answered = await run_in_threadpool(centre_queries, settings, None, [Q.ANSWERED])
    return render(request, "study_queries.html", summary=summary, queries=answered)


async def query_page(request: Request):
    centre = request.path_params["centre"]
    require_centre(request, centre)
    q, trail = await run_in_threadpool(query_and_trail, request.app.state.settings, centre,
                                       request.path_params["qid"])
    return render(request, "query.html", centre=centre, q=q, trail=trail)


def _change(settings, action: str, qid: int, centre: str, session, form) -> None:
    actor = f"{session.user.username} ({session.user.role_text})"
    reason = form.get("reason") or ""
    with Q.write_session(settings) as con:
        if action == "answer":
            Q.answer_query(con, qid, answer=form.get("answer") or "", reason=reason, actor=actor, centre_id=centre)
        elif action == "close":
            Q.get_query(con, qid, centre_id=centre)           # the URL's centre, checked against the session
            Q.close_query(con, qid, reason=reason, actor=actor)
        else:
            Q.reopen_query(con, qid, reason=reason, actor=actor, centre_id=centre)


ALLOWED = {"answer": ("data_manager",), "close": ("coordinator",), "reopen": ("data_manager", "coordinator")}


async def change_query(request: Request):
    centre, qid, action = request.path_params["centre"], request.path_params["qid"], request.path_params["action"]
    if action not in ALLOWED:
        raise Refused(404, "no such action", code="not_found")
    session = require_centre(request, centre)
    if session.user.role not in ALLOWED[action]:
        raise Refused(403, f"a {session.user.role_text} cannot {action} a query", code="forbidden")
    form = await checked_form(request, session, max_files=0, max_fields=5)
    await run_in_threadpool(_change, request.app.state.settings, action, qid, centre, session, form)
    back = form.get("back")
    target = back if back in ("list", "study") else "query"
    url = {"list": f"/centres/{centre}/queries", "study": "/queries",
           "query": f"/centres/{centre}/queries/{qid}"}[target]
    return RedirectResponse(url, status_code=303)


routes = [
    Route("/queries", study_queries_page),
    Route("/centres/{centre}/queries", centre_queries_page),
    Route("/centres/{centre}/queries/{qid:int}", query_page),
    Route("/centres/{centre}/queries/{qid:int}/{action}", change_query, methods=["POST"]),
]
