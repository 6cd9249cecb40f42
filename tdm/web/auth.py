"""Who is asking and what they may see: the session behind a request, the role and centre checks
every route makes, and rendering a page with the session's CSRF token.

Access rules (one place): a data manager sees only their own centre; the study coordinator sees
every centre and manages accounts; an analyst sees publications.  Everyone signed in sees the data
dictionary.  A centre in a URL is honoured only after these checks; nothing a form sends can name
another centre.
"""

from __future__ import annotations

from starlette.requests import Request

from tdm.web.accounts import Session
from tdm.web.security import Refused, check_token

COOKIE = "tdm_session"
LOGIN_COOKIE = "tdm_login_csrf"
CENTRE_ROLES = ("data_manager", "coordinator")
PUBLICATION_ROLES = ("analyst", "coordinator")


class NotSignedIn(Exception):
    """No live session: pages redirect to the sign-in page, anything else answers 401."""


def current_session(request: Request) -> Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = request.app.state.accounts.session(request.cookies.get(COOKIE))
    return request.state.session


def require(request: Request, *roles: str) -> Session:
    """The request's session when its user has one of ``roles`` (any role when none are given)."""
    s = current_session(request)
    if s is None:
        raise NotSignedIn()
    if roles and s.user.role not in roles:
        raise Refused(403, f"this page is not available to a {s.user.role_text}", code="forbidden")
    return s


def require_centre(request: Request, centre_id: str) -> Session:
    """The session, when it may see ``centre_id``: the data manager of that centre, or the coordinator."""
    s = require(request, *CENTRE_ROLES)
    if centre_id not in request.app.state.centres():
        raise Refused(404, "no such centre", code="not_found", value=centre_id)
    if s.user.role == "data_manager" and s.user.centre_id != centre_id:
        raise Refused(403, "you can see only your own centre's files", code="other_centre",
                      hint=f"your centre is {s.user.centre_id}")
    return s


async def checked_form(request: Request, session: Session, **limits):
    """The submitted form, after checking its CSRF token against the session's."""
    form = await request.form(**limits)
    check_token(session.csrf_token, form.get("csrf_token"))
    return form


def home_path(session: Session) -> str:
    """Where a user lands after signing in."""
    role = session.user.role
    if role == "data_manager":
        return f"/centres/{session.user.centre_id}"
    return "/centres" if role == "coordinator" else "/publications"


def render(request: Request, template: str, status: int = 200, **context):
    s = current_session(request)
    return request.app.state.templates.TemplateResponse(
        request, template, {"session": s, "csrf_token": s.csrf_token if s else "", **context},
        status_code=status)


__all__ = ["COOKIE", "LOGIN_COOKIE", "NotSignedIn", "current_session", "require", "require_centre",
           "checked_form", "home_path", "render"]
