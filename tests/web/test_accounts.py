"""Accounts and sessions (tdm.web.accounts) as plain functions, and the ``tdm users`` commands."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from argon2 import PasswordHasher

import tdm.web.accounts as accounts
from tdm.web.accounts import AccountError, AccountStore

PW = "correct horse battery staple"


CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)   # argon2id, fast for the tests


@pytest.fixture
def store(tmp_path):
    return AccountStore(tmp_path / "web" / "accounts.sqlite", hasher=CHEAP)


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for the store (UTC)."""
    now = [dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(accounts, "_now", lambda: now[0])
    return now


def test_passwords_are_stored_as_argon2id_hashes_only(tmp_path):
    store = AccountStore(tmp_path / "web" / "accounts.sqlite")         # the production parameters
    store.add_user("dm.smc", PW, "data_manager", "smc", ["smc", "sch"])
    with sqlite3.connect(tmp_path / "web" / "accounts.sqlite") as db:
        (stored,) = db.execute("SELECT password_hash FROM users").fetchone()
        raw = db.execute("SELECT group_concat(quote(username) || password_hash) FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PW not in raw   # RFC 9106 low-memory
    assert PasswordHasher().verify(stored, PW)            # an independent verifier accepts it
    assert (tmp_path / "web" / "accounts.sqlite").stat().st_mode & 0o077 == 0


def test_a_hash_with_older_parameters_is_upgraded_at_sign_in(store, tmp_path):
    store.add_user("coord", PW, "coordinator")
    current = AccountStore(store.path)                                   # default (stronger) parameters
    assert current.authenticate("coord", PW) is not None
    with sqlite3.connect(store.path) as db:
        (stored,) = db.execute("SELECT password_hash FROM users").fetchone()
    assert "m=65536,t=3" in stored and current.authenticate("coord", PW) is not None


def test_authenticate(store):
    store.add_user("coord", PW, "coordinator")
    assert store.authenticate("coord", PW).role == "coordinator"
    assert store.authenticate("coord", PW + "x") is None
    assert store.authenticate("nobody", PW) is None


@pytest.mark.parametrize("args, code", [
    (("Bad Name", PW, "coordinator"), "bad_username"),
    (("x", PW, "coordinator"), "bad_username"),
    (("a.b", PW, "admin"), "bad_role"),
    (("a.b", PW, "data_manager"), "centre_required"),
    (("a.b", PW, "data_manager", "nosuch"), "unknown_centre"),
    (("a.b", PW, "analyst", "smc"), "centre_not_allowed"),
    (("a.b", "short", "analyst"), "weak_password"),
    (("a.b", " " + PW, "analyst"), "weak_password"),
])
def test_bad_accounts_are_refused_with_a_reason(store, args, code):
    with pytest.raises(AccountError) as e:
        store.add_user(*args, centres=["smc", "sch"])
    assert e.value.code == code
    assert store.list_users() == []


def test_a_user_name_is_unique(store):
    store.add_user("coord", PW, "coordinator")
    with pytest.raises(AccountError, match="already exists"):
        store.add_user("coord", PW, "analyst")


def test_sessions_expire_when_idle_and_after_the_maximum_age(store, clock):
    user = store.add_user("coord", PW, "coordinator")
    token = store.open_session(user)
    assert store.session(token).user.username == "coord"
    clock[0] += dt.timedelta(minutes=accounts.IDLE_MINUTES - 1)
    assert store.session(token) is not None                 # used: idle time starts again
    clock[0] += dt.timedelta(minutes=accounts.IDLE_MINUTES + 1)
    assert store.session(token) is None                     # idle too long
    assert store.session(token) is None                     # and gone for good
    token = store.open_session(user)
    for _ in range(accounts.MAX_HOURS * 60 // (accounts.IDLE_MINUTES - 5) + 1):
        clock[0] += dt.timedelta(minutes=accounts.IDLE_MINUTES - 5)
        alive = store.session(token) is not None
    assert not alive                                        # never longer than MAX_HOURS, even in use


def test_the_token_is_not_stored(store, tmp_path):
    token = store.open_session(store.add_user("coord", PW, "coordinator"))
    with sqlite3.connect(tmp_path / "web" / "accounts.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert token not in dump


def test_disabling_or_a_new_password_ends_sessions(store):
    user = store.add_user("dm", PW, "data_manager", "smc")
    t1 = store.open_session(user)
    store.set_password("dm", PW + " new")
    assert store.session(t1) is None
    assert store.authenticate("dm", PW) is None and store.authenticate("dm", PW + " new") is not None
    t2 = store.open_session(user)
    store.set_disabled("dm", True)
    assert store.session(t2) is None and store.authenticate("dm", PW + " new") is None
    store.set_disabled("dm", False)
    assert store.authenticate("dm", PW + " new") is not None
    with pytest.raises(AccountError, match="no user"):
        store.set_disabled("ghost", True)


def test_repeated_wrong_passwords_lock_the_account(store, clock):
    store.add_user("dm", PW, "data_manager", "smc")
    for _ in range(accounts.MAX_FAILURES):
        assert store.authenticate("dm", "wrong password!!") is None
    assert store.authenticate("dm", PW) is None             # locked, even with the right password
    clock[0] += dt.timedelta(minutes=accounts.LOCK_MINUTES + 1)
    assert store.authenticate("dm", PW) is not None


def test_tdm_users_commands(tmp_path, monkeypatch, capsys):
    import io

    from tdm.cli import main

    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0   # only an initialised home takes accounts

    monkeypatch.setattr("sys.stdin", io.StringIO(PW + "\n"))
    assert main(["users", "add", "dm.smc", "--role", "data_manager", "--centre", "smc", "--password-stdin",
                 "--home", str(home)]) == 0
    assert "created dm.smc: centre data manager of centre smc" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(PW + "\n"))
    assert main(["users", "add", "dm.x", "--role", "data_manager", "--centre", "nosuch", "--password-stdin",
                 "--home", str(home)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "unknown centre 'nosuch'" in err and "knuh, sch, smc" in err and "Traceback" not in err
    assert main(["users", "disable", "dm.smc", "--home", str(home)]) == 0
    assert main(["users", "list", "--home", str(home)]) == 0
    assert "dm.smc\tdata_manager\tsmc" in capsys.readouterr().out
    assert main(["users", "disable", "ghost", "--home", str(home)]) == 2
    assert main(["serve", "--host", "0.0.0.0", "--home", str(home)]) == 2
    assert "refusing to listen on 0.0.0.0" in " ".join(capsys.readouterr().err.split())
