"""The web app behind ``tdm serve``: a Starlette application, server-rendered with Jinja2.

Why Starlette + Jinja2 + uvicorn: every page is a form or a table, so there is no front-end build and
no script; Starlette is the small, well-kept ASGI core (FastAPI is built on it, and Prefect already
brings it and uvicorn in), Jinja2 is what the reports are rendered with, and uvicorn serves it.
The app is thin: pages call the functions the CLI calls (ingestion, reports, scorecard, accounts).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from base.config import Settings
from validators.report_page import STATUS_TEXT
from base.errors import TdmError
from tdm.web import routes_centres, routes_queries, routes_study
from tdm.web.accounts import account_store
from tdm.web.auth import COOKIE, LOGIN_COOKIE, NotSignedIn, current_session, home_path, render
from tdm.web.data import configured_centres
from tdm.web.dropzone import UploadRefused
from tdm.web.security import Refused, SecurityHeaders, check_token

HERE = Path(__file__).parent
LOG = logging.getLogger("tdm.web")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]


async def index(request: Request):
    s = current_session(request)
    return RedirectResponse(home_path(s) if s else "/login", status_code=303)


def _safe_next(target: str | None) -> str | None:
    """A local path to return to after sign-in (never another site: no scheme, no '//')."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


async def login_page(request: Request, *, error: str | None = None, status: int = 200):
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, login_token=token, error=error,
                      idle_minutes=int(request.app.state.accounts.idle.total_seconds() // 60),
                      next=_safe_next(request.query_params.get("next")) or "")
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.app.state.secure,
                        path="/login")
    return response


async def login_post(request: Request):
    form = await request.form(max_files=0, max_fields=5)
    check_token(request.cookies.get(LOGIN_COOKIE), form.get("csrf_token"))    # double-submit: no session yet
    store = request.app.state.accounts
    user = await run_in_threadpool(store.authenticate, (form.get("username") or "").strip(),
                                   form.get("password") or "")
    if user is None:
        return await login_page(request, error="wrong user name or password, or the account is locked or "
                                               "disabled (ask the study coordinator)", status=401)
    token = await run_in_threadpool(store.open_session, user)
    session = store.session(token)
    response = RedirectResponse(_safe_next(form.get("next")) or home_path(session), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.app.state.secure, path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request):
    session = current_session(request)
    if session is not None:
        form = await request.form(max_files=0, max_fields=2)
        check_token(session.csrf_token, form.get("csrf_token"))
        request.app.state.accounts.close_session(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def not_signed_in(request: Request, exc: NotSignedIn):
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render(request, "error.html", status=401, title="Please sign in",
                  message="you are not signed in, or your session has expired", hint="sign in again")


CODE_STATUS = {"query_not_found": 404, "query_state": 409, "warehouse_busy": 503}
# hints written for the CLI, said the web app's way
WEB_HINTS = {"query_not_found": "open the query from your centre's list of queries",
             "warehouse_busy": "a file is being loaded right now; try again in a minute"}


async def refused(request: Request, exc: TdmError):
    status = getattr(exc, "status", None) or CODE_STATUS.get(exc.code) or (503 if exc.transient else 400)
    return render(request, "error.html", status=status, title=_TITLES.get(status, "Cannot do that"),
                  message=exc.message, hint=WEB_HINTS.get(exc.code, exc.hint))


async def http_error(request: Request, exc):
    status = getattr(exc, "status_code", 500)
    return render(request, "error.html", status=status, title=_TITLES.get(status, "Error"),
                  message=getattr(exc, "detail", None) or "the request could not be served", hint=None)


async def server_error(request: Request, exc: Exception):
    LOG.exception("unexpected error serving %s", request.url.path)
    return render(request, "error.html", status=500, title="Something went wrong",
                  message=f"unexpected {type(exc).__name__}; nothing was changed by this request",
                  hint="try again; if it keeps happening, tell the study coordinator the time it happened")


_TITLES = {400: "Cannot do that", 401: "Please sign in", 403: "Not allowed", 404: "Not found",
           405: "Not allowed", 409: "Cannot do that yet", 413: "File too large", 503: "Not available yet"}


def _when(value) -> str:
    """A timestamp to the minute, as the pages show it (blank when missing)."""
    if value is None or value != value:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value)


def create_app(settings: Settings, *, allowed_hosts: list[str] | None = None, secure_cookies: bool = False,
               max_upload: int | None = None) -> Starlette:
    """The web app for one home (``settings``); ``allowed_hosts`` guards against DNS rebinding."""
    routes = [
        Route("/", index),
        Route("/login", login_page),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *routes_centres.routes,
        *routes_queries.routes,
        *routes_study.routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, hsts=secure_cookies),
                    Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)],
        exception_handlers={NotSignedIn: not_signed_in, Refused: refused, UploadRefused: refused,
                            TdmError: refused, HTTPException: http_error, Exception: server_error},
    )
    app.state.settings = settings
    app.state.accounts = account_store(settings.home)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.templates.env.filters["when"] = _when
    app.state.templates.env.globals["status_text"] = lambda status: STATUS_TEXT.get(status, status or "")
    app.state.centres = lambda: configured_centres(settings)
    app.state.secure = secure_cookies
    app.state.max_upload = max_upload if max_upload is not None else settings.limits.upload_max_bytes
    return app


__all__ = ["create_app"]
