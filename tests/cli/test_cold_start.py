"""The cold start of ``tdm ingest`` (issue 14): the home's Prefect server is started first, on a
cheap look at the inboxes, and only waited for before the flow; a server started for nothing is
stopped; heavy imports run with the garbage collector paused.  The timing itself is a benchmark
(benchmarks/startup.py), not a test."""

from __future__ import annotations

import fcntl
import gc
import importlib
import os
import sys
import time

import pytest

from tdm import prefect_server
from base import runtime
from tdm.cli import main
from tdm.cli.flow_cmds import FLOW_RUN_IMPORTS, inbox_may_hold_files
from base.config import Settings
from tdm.prefect_server import PrefectApi, ServerFiles

KEY = "cold-start-test-key-0123456789abcdef"


class FakeLaunch:
    """Stands in for a server process: records whether it was stopped (the real stop is
    ``Launch.stop``, tested with a real server in tests/cli/test_prefect_server.py)."""

    instances: list[FakeLaunch] = []

    def __init__(self, files, idle, shared):
        self.files, self.idle, self.shared, self.stopped = files, idle, shared, False
        self.port = 1
        self.process = type("P", (), {"pid": 4242})()
        FakeLaunch.instances.append(self)

    def wait_ready(self, timeout):
        pass

    def stop(self):
        self.stopped = True


@pytest.fixture
def fake_server(monkeypatch):
    """PrefectApi as in a ``tdm`` process (Prefect not imported yet, no configured server), with
    the server process faked."""
    FakeLaunch.instances = []
    monkeypatch.setattr(prefect_server, "Launch", FakeLaunch)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delitem(sys.modules, "prefect", raising=False)      # restored after the test
    return FakeLaunch.instances


def _start_lock_free(home) -> bool:
    fd = os.open(ServerFiles(home).lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_server_started_for_a_pass_that_runs_no_flow_is_stopped_on_leaving(tmp_path, fake_server, capsys):
    with PrefectApi(tmp_path, 600) as api:
        (launch,) = fake_server
        assert api.lease.launch is launch and launch.shared and not launch.stopped
        assert not _start_lock_free(tmp_path)            # other commands wait until it is ready or gone
        assert "PREFECT_API_URL" not in os.environ       # not yet pointed at: Prefect is imported later
    assert launch.stopped and _start_lock_free(tmp_path)
    assert "started this home's Prefect server" not in capsys.readouterr().err     # nothing left running


def test_a_used_shared_server_lives_on_and_the_environment_is_restored(tmp_path, fake_server, capsys):
    with PrefectApi(tmp_path, 600) as api:
        with api.use() as lease:
            assert "started this home's Prefect server (pid 4242)" in capsys.readouterr().err
            assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:1/api" == lease.url
            assert os.environ["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] == "false"
            lease.wait_ready()
            assert _start_lock_free(tmp_path)            # ready: the next command may reuse it
        assert "PREFECT_API_URL" not in os.environ
    assert not fake_server[0].stopped                    # it stops itself when idle


def test_a_per_command_server_is_stopped_even_when_used(tmp_path, fake_server):
    with PrefectApi(tmp_path, 0) as api, api.use():
        pass
    assert fake_server[0].stopped and not fake_server[0].shared


def test_a_configured_server_or_a_test_harness_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(prefect_server, "Launch", FakeLaunch)
    FakeLaunch.instances = []
    importlib.import_module("prefect")                   # as in a test session's harness
    with PrefectApi(tmp_path, 600) as api, api.use() as lease:
        assert lease is None
    monkeypatch.delitem(sys.modules, "prefect")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    with PrefectApi(tmp_path, 600) as api, api.use() as lease:
        assert lease is None
    assert FakeLaunch.instances == [] and not (tmp_path / "tdm-server.lock").exists()


def test_the_inbox_hint_sees_any_visible_entry_of_a_centre_folder_and_nothing_else(tmp_path):
    settings = Settings(home=tmp_path)
    assert not inbox_may_hold_files(settings)            # no inbox at all
    (settings.inbox / "smc").mkdir(parents=True)
    (settings.inbox / "smc" / ".partial-upload").write_text("x")
    (settings.inbox / ".hidden").mkdir()
    (settings.inbox / ".hidden" / "f.csv").write_text("x")
    (settings.inbox / "stray.csv").write_text("x")       # not in a centre folder: discovery warns, no flow
    assert not inbox_may_hold_files(settings)
    (settings.inbox / "knuh").mkdir()
    (settings.inbox / "knuh" / "export.csv").write_text("x")
    assert inbox_may_hold_files(settings)


def test_tdm_ingest_starts_a_server_only_when_the_inbox_holds_files(tmp_path, monkeypatch, capsys, fake_server):
    from tdm.cli import flow_cmds

    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)
    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0
    starts = []
    real = flow_cmds.prefect_api_for
    monkeypatch.setattr(flow_cmds, "prefect_api_for", lambda s: starts.append(s.home) or real(s))
    assert main(["ingest", "--home", str(home)]) == 0
    assert starts == [] and "no complete files" in capsys.readouterr().out
    f = home / "inbox" / "smc" / "export.csv"
    f.write_text("being written\n")                      # too fresh to be complete: no flow, but a hint
    assert main(["ingest", "--home", str(home)]) == 0
    assert len(starts) == 1 and len(fake_server) == 1 and fake_server[0].stopped    # no flow ran: stopped
    assert "1 file(s) still being written" in capsys.readouterr().out


def test_imports_without_gc_pauses_collection_once_and_freezes_only_in_our_own_processes(monkeypatch):
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with runtime.imports_without_gc():
        assert not gc.isenabled()
        with runtime.imports_without_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()                        # only the outermost block resumes
    assert gc.isenabled() and gc.get_freeze_count() == frozen     # a test session is not frozen
    monkeypatch.setitem(runtime._process, "own", True)
    keep = [object() for _ in range(10)]
    try:
        with runtime.imports_without_gc():
            pass
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(keep)
    finally:
        gc.unfreeze()
    with pytest.raises(ZeroDivisionError):
        with runtime.imports_without_gc():
            1 / 0
    assert gc.isenabled()


@pytest.mark.parametrize("name", FLOW_RUN_IMPORTS)
def test_every_module_imported_while_the_server_boots_exists(name):
    importlib.import_module(name)


def test_a_launch_reads_its_port_only_when_asked(tmp_path, monkeypatch):
    """The command goes on with its imports while the server process starts; the port (printed by
    the server once bound) is read when the URL is first needed."""
    calls = []

    class Proc:
        pid = 1
        returncode = None

        class stdout:
            @staticmethod
            def readline():
                calls.append(time.monotonic())
                return b"4321\n"

            @staticmethod
            def close():
                pass

        def poll(self):
            return None

    monkeypatch.setattr(prefect_server.subprocess, "Popen", lambda *a, **k: Proc())
    launch = prefect_server.Launch(ServerFiles(tmp_path), 600, shared=True)
    assert calls == []
    lease = prefect_server.ServerLease(None, launch, None)
    assert lease.url == "http://127.0.0.1:4321/api" and launch.port == 4321 and len(calls) == 1


def test_a_server_stopped_while_still_importing_leaves_no_record(tmp_path, monkeypatch):
    """SIGTERM before uvicorn runs ends the daemon without its own clean-up: the stopper removes
    the record (of that server only), so ``tdm status`` shows no stale server."""
    class Exited:
        pid, returncode, stdout = 1, -15, None

        def poll(self):
            return -15

    monkeypatch.setattr(prefect_server.subprocess, "Popen", lambda *a, **k: Exited())
    files = ServerFiles(tmp_path)
    launch = prefect_server.Launch(files, 600, shared=True)
    prefect_server.write_state(files, {"pid": 1, "port": 2, "token": launch.token})
    launch.stop()
    assert prefect_server.read_state(files) is None
    prefect_server.write_state(files, {"pid": 3, "port": 4, "token": "a newer server"})
    launch.stop()
    assert prefect_server.read_state(files)["token"] == "a newer server"
