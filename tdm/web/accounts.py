"""Accounts and sessions of the web app, in their own small SQLite database under the home.

Why SQLite and not the warehouse: DuckDB allows one writing process, and that writer is busy with
ingestion; a sign-in must never wait for (or block) a load.  ``<home>/web/accounts.sqlite`` holds

* ``users``: user name, role (:data:`ROLES`), the centre of a data manager, an argon2id hash
  (argon2-cffi's defaults, RFC 9106), when created, disabled, and failed sign-ins in a row;
* ``sessions``: the SHA-256 of the session token (the token itself is only in the browser's cookie,
  so a copy of the database opens no session), its CSRF token, creation and last-use times.

A session ends after :data:`IDLE_MINUTES` without use or :data:`MAX_HOURS` after sign-in, at sign-out,
when its user is disabled or their password changes.  After :data:`MAX_FAILURES` wrong passwords in a
row an account is locked for :data:`LOCK_MINUTES`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from base.errors import TdmError

ROLES = ("data_manager", "coordinator", "analyst")
ROLE_TEXT = {"data_manager": "centre data manager", "coordinator": "study coordinator", "analyst": "analyst"}
IDLE_MINUTES = 30
MAX_HOURS = 12
MAX_FAILURES = 10
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 12
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_HASHER = PasswordHasher()       # argon2id with RFC 9106's low-memory profile (argon2-cffi's defaults)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('data_manager', 'coordinator', 'analyst')),
    centre_id TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    CHECK ((role = 'data_manager') = (centre_id IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
"""


class AccountError(TdmError):
    """A user-management request that cannot be done (unknown user, bad role, weak password...)."""

    code = "account_error"


@dataclass(frozen=True)
class User:
    username: str
    role: str
    centre_id: str | None
    created_at: str
    disabled_at: str | None

    @property
    def role_text(self) -> str:
        return ROLE_TEXT[self.role]


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    created_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountStore:
    """The accounts database of one home (opened per call: short connections, safe across threads)."""

    def __init__(self, path: Path, *, idle_minutes: int = IDLE_MINUTES, max_hours: int = MAX_HOURS,
                 hasher: PasswordHasher = _HASHER):
        self.path = Path(path)
        self.hasher = hasher
        # verified against when the user does not exist, so a wrong name costs as long as a wrong password
        self._dummy_hash = hasher.hash(secrets.token_hex(16))
        self.idle = dt.timedelta(minutes=idle_minutes)
        self.max_age = dt.timedelta(hours=max_hours)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
        self.path.chmod(0o600)

    @contextmanager
    def _db(self):
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            with db:                      # one transaction, committed on success
                yield db

    # ----------------------------------------------------------------------------- users
    def add_user(self, username: str, password: str, role: str, centre_id: str | None = None,
                 centres: list[str] | None = None) -> User:
        """Create an account; ``centres`` (the configured ones) checks a data manager's centre."""
        _check_username(username)
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}", code="bad_role", value=role,
                               hint=f"use one of: {', '.join(ROLES)}")
        if role == "data_manager":
            if not centre_id:
                raise AccountError("a data manager needs a centre", code="centre_required",
                                   hint="add --centre <centre id>")
            if centres is not None and centre_id not in centres:
                raise AccountError(f"unknown centre {centre_id!r}", code="unknown_centre", value=centre_id,
                                   hint=f"configured centres: {', '.join(sorted(centres)) or 'none'}")
        elif centre_id:
            raise AccountError(f"a {ROLE_TEXT[role]} sees every centre; --centre is only for data managers",
                               code="centre_not_allowed", value=centre_id)
        _check_password(password)
        try:
            with self._db() as db:
                db.execute("INSERT INTO users (username, role, centre_id, password_hash, created_at) "
                           "VALUES (?, ?, ?, ?, ?)",
                           [username, role, centre_id or None, self.hasher.hash(password), _now().isoformat()])
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"user {username!r} already exists", code="user_exists", value=username,
                               hint="choose another name, or reset the password with 'tdm users passwd'") from exc
        return self.get_user(username)

    def get_user(self, username: str) -> User:
        with self._db() as db:
            row = db.execute("SELECT username, role, centre_id, created_at, disabled_at FROM users "
                             "WHERE username = ?", [username]).fetchone()
        if row is None:
            raise AccountError(f"no user {username!r}", code="unknown_user", value=username,
                               hint="list the accounts with 'tdm users list'")
        return User(**dict(row))

    def list_users(self) -> list[User]:
        with self._db() as db:
            rows = db.execute("SELECT username, role, centre_id, created_at, disabled_at FROM users "
                              "ORDER BY role, centre_id, username").fetchall()
        return [User(**dict(r)) for r in rows]

    def set_password(self, username: str, password: str) -> None:
        """New password; ends the user's sessions and lifts a lock."""
        _check_password(password)
        self.get_user(username)
        with self._db() as db:
            db.execute("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
                       "WHERE username = ?", [self.hasher.hash(password), username])
            db.execute("DELETE FROM sessions WHERE username = ?", [username])

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (ending every session) or re-enable an account; accounts are never deleted."""
        self.get_user(username)
        with self._db() as db:
            db.execute("UPDATE users SET disabled_at = ? WHERE username = ?",
                       [_now().isoformat() if disabled else None, username])
            if disabled:
                db.execute("DELETE FROM sessions WHERE username = ?", [username])

    # ----------------------------------------------------------------------------- sign-in
    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is right and the account usable; None otherwise (no reason
        given to the caller, so a page cannot tell which accounts exist)."""
        now = _now()
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
            stored = row["password_hash"] if row is not None else self._dummy_hash
            try:
                ok = self.hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                ok = False
            if row is None:
                return None
            locked = row["locked_until"] and dt.datetime.fromisoformat(row["locked_until"]) > now
            if not ok or locked or row["disabled_at"]:
                if not ok:
                    failures = row["failed_logins"] + 1
                    until = (now + dt.timedelta(minutes=LOCK_MINUTES)).isoformat() \
                        if failures >= MAX_FAILURES else row["locked_until"]
                    db.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                               [0 if failures >= MAX_FAILURES else failures, until, username])
                return None
            if self.hasher.check_needs_rehash(stored):
                db.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                           [self.hasher.hash(password), username])
            db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?", [username])
        return self.get_user(username)

    def open_session(self, user: User) -> str:
        """A new session for ``user``; returns the token for the cookie (stored only as its hash)."""
        token = secrets.token_urlsafe(32)
        now = _now().isoformat()
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE last_seen < ?", [(_now() - self.idle).isoformat()])
            db.execute("INSERT INTO sessions (token_sha256, username, csrf_token, created_at, last_seen) "
                       "VALUES (?, ?, ?, ?, ?)", [_digest(token), user.username, secrets.token_urlsafe(32), now, now])
        return token

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token (its last use refreshed), or None when absent or expired."""
        if not token:
            return None
        now = _now()
        key = _digest(token)
        with self._db() as db:
            row = db.execute(
                "SELECT s.csrf_token, s.created_at, s.last_seen, u.username, u.role, u.centre_id, "
                "u.created_at AS user_created_at, u.disabled_at FROM sessions s JOIN users u USING (username) "
                "WHERE s.token_sha256 = ?", [key]).fetchone()
            if row is None:
                return None
            created = dt.datetime.fromisoformat(row["created_at"])
            idle = now - dt.datetime.fromisoformat(row["last_seen"])
            if row["disabled_at"] or idle > self.idle or now - created > self.max_age:
                db.execute("DELETE FROM sessions WHERE token_sha256 = ?", [key])
                return None
            db.execute("UPDATE sessions SET last_seen = ? WHERE token_sha256 = ?", [now.isoformat(), key])
        user = User(row["username"], row["role"], row["centre_id"], row["user_created_at"], row["disabled_at"])
        return Session(user, row["csrf_token"], created)

    def close_session(self, token: str | None) -> None:
        if token:
            with self._db() as db:
                db.execute("DELETE FROM sessions WHERE token_sha256 = ?", [_digest(token)])


def _check_username(username: str) -> None:
    if not USERNAME_RE.match(username or ""):
        raise AccountError(f"invalid user name {username!r}", code="bad_username", value=username,
                           hint="use 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short (at least {MIN_PASSWORD_LENGTH} characters)",
                           code="weak_password", hint="choose a longer passphrase")
    if password != password.strip():
        raise AccountError("the password starts or ends with a space", code="weak_password",
                           hint="remove the leading/trailing spaces")


def account_store(home: Path) -> AccountStore:
    """The accounts database of a home: ``<home>/web/accounts.sqlite``."""
    return AccountStore(Path(home) / "web" / "accounts.sqlite")


__all__ = ["AccountStore", "AccountError", "User", "Session", "ROLES", "ROLE_TEXT", "account_store",
           "IDLE_MINUTES", "MAX_HOURS", "MIN_PASSWORD_LENGTH"]
