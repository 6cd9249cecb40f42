"""What every response and every request of the web app goes through: security headers, CSRF
tokens, and serving files only from inside a folder of the home.

The pages run no script at all, so the Content-Security-Policy forbids every script; the reports'
own inline ``<style>`` is the only inline content allowed.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from base.errors import TdmError

CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response (errors and redirects included)."""

    def __init__(self, app, *, hsts: bool = False):
        self.app = app
        self.extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
        if hsts:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.extra if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Refused(TdmError):
    """A request the user may not make, or that asks for something that does not exist: rendered as
    an error page with ``status`` (never a traceback)."""

    code = "refused"

    def __init__(self, status: int, message: str, **kw):
        super().__init__(message, **kw)
        self.status = status


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_token(expected: str | None, given: str | None) -> None:
    """Refuse a form whose CSRF token is missing or is not this session's (constant-time compare)."""
    if not expected or not given or not hmac.compare_digest(expected.encode(), str(given).encode()):
        raise Refused(403, "the form was not sent from this site's page, or the page is too old",
                      code="csrf_failed", hint="go back, reload the page and send the form again")


def safe_child(base: Path, name: str, suffixes: tuple[str, ...]) -> Path:
    """``base/name`` when ``name`` is one plain file name with an allowed suffix naming a regular
    file (no symlink) inside ``base``; else :class:`Refused` (404: the same answer whether the name
    was hostile or just absent, so nothing is learnt about the disk)."""
    not_found = Refused(404, "no such file", code="not_found", value=name)
    if (not name or "/" in name or "\\" in name or "\x00" in name or name.startswith(".")
            or not name.lower().endswith(suffixes)):
        raise not_found
    base = base.resolve()
    path = base / name
    try:
        if path.is_symlink() or not path.is_file() or path.resolve().parent != base:
            raise not_found
    except OSError:
        raise not_found from None
    return path


__all__ = ["SecurityHeaders", "Refused", "check_token", "new_token", "safe_child", "HEADERS", "CSP"]
