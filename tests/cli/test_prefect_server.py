"""The home's loopback Prefect server (tdm.prefect_server, tdm.prefect_daemon): reuse only of a fit
server, never of a stale port or another version or home; the users lock keeps it alive under a
running command; it stops itself when idle; concurrent starts make one server; `tdm prefect stop`."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tdm.cli import main
from base.config import Settings, load_settings
from base.errors import ConfigError, TdmError
from tdm.prefect_daemon import Activity, idle_and_unused
from tdm.prefect_server import (IDENTITY_PATH, ServerFiles, describe, in_use,
                                prefect_version, probe, read_state, remove_state_if, reusable, server_status,
                                stop_server, write_state)

ROOT = Path(__file__).resolve().parents[2]


# --- plain functions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [(None, 600.0), ("0", 0.0), (" 30 ", 30.0), ("1.5", 1.5)])
def test_idle_seconds_setting(tmp_path, raw, expected):
    env = {} if raw is None else {"TDM_PREFECT_SERVER_IDLE": raw}
    assert load_settings(tmp_path, environ=env).prefect_server_idle == expected
    assert Settings(home=tmp_path).prefect_server_idle == 600.0


@pytest.mark.parametrize("raw", ["ten", "-1", "inf", "nan"])
def test_a_bad_idle_setting_is_one_clear_error(raw):
    with pytest.raises(ConfigError) as e:
        load_settings(environ={"TDM_PREFECT_SERVER_IDLE": raw})
    assert "TDM_PREFECT_SERVER_IDLE" in str(e.value) and ">= 0" in str(e.value) and e.value.hint


def test_state_file_round_trip_is_private_and_removed_only_by_its_own_token(tmp_path):
    files = ServerFiles(tmp_path)
    assert read_state(files) is None
    write_state(files, {"pid": 1, "port": 2, "token": "abc"})
    assert read_state(files) == {"pid": 1, "port": 2, "token": "abc"}
    assert files.state.stat().st_mode & 0o777 == 0o600
    remove_state_if(files, "someone-else")          # a newer server's record is not removed
    assert files.state.exists()
    remove_state_if(files, "abc")
    assert not files.state.exists()
    files.state.write_text("{not json", encoding="utf-8")
    assert read_state(files) is None                # a torn or foreign file: no server


def test_only_a_server_of_this_prefect_version_and_home_is_reused(tmp_path):
    v = prefect_version()
    info = {"token": "t", "ready": True, "prefect_version": v, "prefect_home": str(tmp_path.resolve())}
    assert reusable(info, tmp_path, v)
    assert not reusable(None, tmp_path, v)                                   # not answering: stale port
    assert not reusable({**info, "prefect_version": "2.0.0"}, tmp_path, v)   # another Prefect version
    assert not reusable(info, tmp_path / "other-home", v)                    # another home
    assert not reusable({**info, "ready": False}, tmp_path, v)


class _Identity(BaseHTTPRequestHandler):
    token = "theirs"

    def do_GET(self):  # noqa: N802 - http.server API
        body = json.dumps({"token": self.token, "pid": 1}).encode() if self.path == IDENTITY_PATH else b""
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_probe_tells_our_server_from_a_stale_port_or_a_stranger():
    httpd = HTTPServer(("127.0.0.1", 0), _Identity)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    try:
        assert probe({"port": port, "token": "theirs"}) == {"token": "theirs", "pid": 1}
        assert probe({"port": port, "token": "ours"}) is None          # someone else's server on that port
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert probe({"port": port, "token": "theirs"}, timeout=0.5) is None   # nobody listens any more


def test_activity_counts_requests_but_not_identity_looks():
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])
        await asyncio.sleep(0)

    sent = []

    async def send(msg):
        sent.append(msg)

    act = Activity(app, {"token": "t", "pid": 7})
    act.last -= 100
    asyncio.run(act({"type": "http", "path": IDENTITY_PATH}, None, send))
    assert calls == [] and act.idle_for() >= 100                       # a look does not keep it alive
    assert json.loads(sent[-1]["body"])["token"] == "t"
    asyncio.run(act({"type": "http", "path": "/api/health"}, None, send))
    assert calls == ["/api/health"] and act.idle_for() < 1
    act.in_flight = 1
    act.last -= 100
    assert act.idle_for() == 0.0                                       # a request in flight is not idle


def test_the_server_stops_only_when_idle_and_no_command_holds_the_users_lock(tmp_path):
    files = ServerFiles(tmp_path)
    act = Activity(None, {})
    fd = os.open(files.users, os.O_RDWR | os.O_CREAT)
    user = os.open(files.users, os.O_RDWR)
    try:
        assert not idle_and_unused(act, 60, fd)                       # used a moment ago
        act.last -= 120
        fcntl.flock(user, fcntl.LOCK_SH)                              # a command mid-run (a long task)
        assert in_use(files)
        assert not idle_and_unused(act, 60, fd)
        fcntl.flock(user, fcntl.LOCK_UN)
        assert not in_use(files)
        assert idle_and_unused(act, 60, fd)                           # now: and it keeps the lock
        with pytest.raises(BlockingIOError):
            fcntl.flock(user, fcntl.LOCK_SH | fcntl.LOCK_NB)          # a new command waits for the exit
    finally:
        os.close(user)
        os.close(fd)


def test_status_and_stop_without_a_server(tmp_path):
    assert server_status(tmp_path) is None
    assert "not running" in describe(None)
    assert stop_server(tmp_path) == "no Prefect server running for this home"
    write_state(ServerFiles(tmp_path), {"pid": 999999, "port": 9, "token": "x"})     # a crashed server's record
    st = server_status(tmp_path)
    assert st["answering"] is False and "not answering" in describe(st)
    assert "removed its stale record" in stop_server(tmp_path)
    assert not ServerFiles(tmp_path).state.exists()


# --- one real server ----------------------------------------------------------------------------------------
_CLIENT = """
import os, sys, time
from pathlib import Path
from base.config import load_settings
from base.runtime import quiet_prefect_environment
quiet_prefect_environment()
from tdm.prefect_server import prefect_api
with prefect_api(Path(sys.argv[1]), load_settings().prefect_server_idle) as lease:
    lease.wait_ready()
    print(lease.url, lease.launch.process.pid if lease.launch else "reused",
          os.environ["PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED"], os.environ["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"],
          flush=True)
    time.sleep(float(sys.argv[2]))
print("after", os.environ.get("PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED"), flush=True)
"""


def _client(prefect_home: Path, hold: float, idle: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(TDM_PREFECT_SERVER_IDLE=idle, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", _CLIENT, str(prefect_home), str(hold)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_concurrent_commands_share_one_server_that_stops_itself_when_idle(tmp_path):
    """Two commands at once start one server; it outlives them, then stops itself after the idle time."""
    home = Path(os.environ["PREFECT_HOME"])       # the session's, migrated once (tests/conftest.py)
    files = ServerFiles(home.resolve())
    if read_state(files) and probe(read_state(files)):
        pytest.skip("a server for the session's Prefect home is already running")
    a, b = _client(home, 1.0, "2"), _client(home, 1.0, "2")
    outs = [p.communicate(timeout=240) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    (url_a, who_a, *skip_a, after_a), (url_b, who_b, *skip_b, after_b) = (o[0].split() for o in outs)
    assert url_a == url_b and sorted([who_a, who_b])[1] == "reused"      # one started it, one reused it
    # a client of our own server (installed version, no CSRF) skips the version check and CSRF token
    # round trips, for the command only
    assert skip_a == skip_b == ["false", "false", "after"] and after_a == after_b == "None"
    started = [o[1] for o in outs if "started this home's Prefect server" in o[1]]
    assert len(started) == 1 and "tdm prefect stop" in started[0]
    state = read_state(files)
    pid = int(state["pid"])
    try:
        assert _alive(pid) and server_status(home)["answering"]           # outlives the commands
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(pid), "the idle server did not stop itself"
        assert read_state(files) is None                                 # and removed its record
    finally:
        if _alive(pid):
            os.kill(pid, 15)


_FAKE_SERVER = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"token": sys.argv[1], "pid": os.getpid()}).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
httpd = HTTPServer(("127.0.0.1", 0), H)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
"""


def test_tdm_prefect_stop_signals_the_pid_the_server_reports_and_refuses_while_in_use(tmp_path, monkeypatch, capsys):
    from tdm.cli import main

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    files = ServerFiles((tmp_path / "prefect").resolve())
    files.home.mkdir()
    fake = subprocess.Popen([sys.executable, "-c", _FAKE_SERVER, "tok"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(fake.stdout.readline())
        write_state(files, {"pid": 1, "port": port, "token": "tok", "prefect_version": prefect_version(),
                            "idle_seconds": 600})        # the recorded pid is not trusted: the server's own is
        assert main(["init", "--home", str(tmp_path / "h")]) == 0
        capsys.readouterr()
        assert main(["prefect", "status", "--home", str(tmp_path / "h")]) == 0
        assert f"Prefect server: running on 127.0.0.1:{port} (pid {fake.pid}" in capsys.readouterr().out
        with open(files.users, "w") as user:
            fcntl.flock(user, fcntl.LOCK_SH)                 # a command mid-run
            assert main(["prefect", "stop", "--home", str(tmp_path / "h")]) == 2
            assert "in use by a running tdm command" in capsys.readouterr().err
            assert fake.poll() is None
        assert main(["prefect", "stop", "--home", str(tmp_path / "h")]) == 0
        assert f"stopped the Prefect server (pid {fake.pid}, port {port})" in capsys.readouterr().out
        assert fake.wait(timeout=10) == -15 and read_state(files) is None
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()


@pytest.mark.slow   # the per-command server runs for real in tests/cli/test_ingest_signals.py
def test_a_per_command_server_does_not_outlive_its_command():
    home = Path(os.environ["PREFECT_HOME"])
    files = ServerFiles(home.resolve())
    p = _client(home, 0, "0")
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err
    private = int(out.split()[1])
    assert not _alive(private) and read_state(files) is None        # and it was never shared


def test_a_server_that_hangs_while_stopping_is_one_clear_error(tmp_path, monkeypatch):
    from tdm import prefect_server

    files = ServerFiles(tmp_path)
    fd = os.open(files.users, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)                       # what a stopping server holds until it exits
    try:
        with pytest.raises(TdmError) as e:
            with prefect_server._flock(files.users, fcntl.LOCK_SH, timeout=0.2):
                pass
        assert "has been stopping for over 0.2 s" in str(e.value) and "kill" in e.value.hint
    finally:
        os.close(fd)


@pytest.mark.parametrize("argv", [["prefect", "status"], ["prefect", "stop"]], ids=" ".join)
def test_prefect_commands_on_a_missing_home_are_one_message_exit_2_and_create_nothing(argv, tmp_path, capsys):
    home = tmp_path / "typo"
    assert main([*argv, "--home", str(home)]) == 2
    assert f"no TDM home at {home} (run 'tdm init' first)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_bad_idle_setting_stops_a_flow_command_before_anything_starts(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0
    monkeypatch.setenv("TDM_PREFECT_SERVER_IDLE", "soon")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    before = sorted(p.name for p in home.iterdir())
    assert main(["ingest", "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert "TDM_PREFECT_SERVER_IDLE" in err and ">= 0" in err
    assert sorted(p.name for p in home.iterdir()) == before and not (home / ".prefect" / "tdm-server.json").exists()

def test_flow_api_turns_the_run_heartbeat_off_for_the_command_only(tmp_path, monkeypatch):
    """A one-shot run has no supervisor: no heartbeat within ``flow_api``, Prefect's default outside."""
    from prefect.settings import get_current_settings

    from tdm.cli.flow_cmds import flow_api

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")      # a configured server: none started
    outer = get_current_settings()
    assert outer.flows.heartbeat_frequency is not None
    with flow_api(Settings(home=tmp_path)):
        inner = get_current_settings()
        assert inner.flows.heartbeat_frequency is None
        assert inner.model_dump(exclude={"flows"}) == outer.model_dump(exclude={"flows"})   # nothing else changed
    assert get_current_settings().flows.heartbeat_frequency == outer.flows.heartbeat_frequency
