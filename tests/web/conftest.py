"""Fixtures of the web app tests: a home with two centres' files ingested through the folder, a
publication, one account per role, HTTP clients signed in as each, and a live server for the browser."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY = "web-test-key-0123456789abcdef0123"
PASSWORD = "a long enough passphrase"
USERS = {"dm.smc": ("data_manager", "smc"), "dm.sch": ("data_manager", "sch"),
         "coord": ("coordinator", None), "analyst": ("analyst", None)}
HOST = "127.0.0.1"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class WebHome:
    settings: object
    exports: dict          # (centre, "dirty" | "clean") -> Path of the export file
    files: dict            # centre -> the ingest.files row of its first file (dict)
    publication_id: str | None
    query_id: int | None   # an open query of smc


def _exports(folder: Path, n_patients: int = 24, seed: int = 11) -> dict:
    from centres import builtin_profiles
    from synth import generate_cohort, write_exports

    profiles = builtin_profiles()
    cohort = generate_cohort(n_patients, ("smc", "sch"), seed)
    out = {}
    for tag, rate in (("dirty", 0.35), ("clean", 0.0)):
        m = write_exports(cohort, profiles, folder / tag, error_rate=rate, seed=seed, file_format={"sch": "csv"})
        for r in m.files.itertuples():
            out[(r.centre_id, tag)] = Path(r.file)
    return out


def make_home(root: Path, *, with_publication: bool = False,
              dropped=(("smc", "dirty"), ("sch", "clean"))) -> WebHome:
    """A home where the ``dropped`` exports (by default smc's with mistakes, sch's clean one) were put
    in the inbox folders and ingested, with one account per role (:data:`USERS`)."""
    from ingestion import run_pass, setup
    from tdm.web.data import centre_files, centre_queries
    from tdm.web.accounts import account_store

    (root / "home").mkdir(parents=True, exist_ok=True)   # setup initialises an existing folder only
    settings, profiles, _ = setup(root / "home")
    exports = _exports(root / "exports")
    for centre, tag in dropped:
        shutil.copy(exports[(centre, tag)], settings.centre_inbox(centre) / exports[(centre, tag)].name)
    run_pass(str(settings.home), stable_seconds=0)
    pid = None
    if with_publication:
        from publication import build_publication

        pid = build_publication(settings).publication_id
    store = account_store(settings.home)
    for name, (role, centre) in USERS.items():
        store.add_user(name, PASSWORD, role, centre, list(profiles))
    files = {c: centre_files(settings, c)[0] for c, _ in dropped}
    open_smc = centre_queries(settings, "smc", ["open"]) if "smc" in files else []
    return WebHome(settings, exports, files, pid, open_smc[0].query_id if open_smc else None)


@pytest.fixture(scope="session")
def web_home(tmp_path_factory) -> WebHome:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TDM_PSEUDONYM_KEY", KEY)
        mp.setenv("TDM_MODE", "demo")
        return make_home(tmp_path_factory.mktemp("web"), with_publication=True)


@pytest.fixture
def pseudonym_key(monkeypatch):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("TDM_MODE", "demo")


def client_for(settings, raise_server_exceptions: bool = True, **kw):
    from starlette.testclient import TestClient

    from tdm.web.app import create_app

    return TestClient(create_app(settings, **kw), base_url=f"http://{HOST}", follow_redirects=False,
                      raise_server_exceptions=raise_server_exceptions)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    r = client.post("/login", data={"csrf_token": csrf_of(page.text), "username": username, "password": password})
    assert r.status_code == 303, r.text
    return r


@pytest.fixture
def anon(web_home):
    return client_for(web_home.settings)


@pytest.fixture
def as_user(web_home):
    """``as_user("dm.smc")``: a client signed in as that account (a fresh session each call)."""
    def make(username: str):
        c = client_for(web_home.settings)
        sign_in(c, username)
        return c
    return make


# ----------------------------------------------------------------------------- a live server (browser)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server():
    """``live_server(settings)`` -> base URL of the app served by uvicorn in a thread (stopped after)."""
    import uvicorn

    from tdm.web.app import create_app

    servers = []

    def start(settings) -> str:
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host=HOST, port=port, log_level="warning"))
        t = threading.Thread(target=server.run, daemon=True)
        t.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the web app did not start"
            time.sleep(0.05)
        servers.append((server, t))
        return f"http://{HOST}:{port}"

    yield start
    for server, t in servers:
        server.should_exit = True
        t.join(timeout=10)
