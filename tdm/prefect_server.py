"""Prefect's API for ``tdm`` commands: one loopback server per home, started on demand, reused.

When no ``PREFECT_API_URL`` is configured, Prefect would start a temporary server subprocess for
every command: ~3 s (warm) to ~12 s (fresh Prefect home: migrations) before the first flow call,
longer than the whole 10-line pass should take.  Instead the first command that runs a flow
starts Prefect's own server app (:mod:`tdm.prefect_daemon`) *detached*, before Prefect is imported
(so it boots on the other core while the client imports; :class:`PrefectApi` separates starting
from using, and ``tdm ingest`` starts it before importing anything heavy), and later commands
reuse it: a warm command pays only its client side.  The server stops itself once no ``tdm`` command has used it
for ``TDM_PREFECT_SERVER_IDLE`` seconds (default 600; ``0`` = one server per command, stopped
when the command ends); ``tdm prefect stop`` stops it at once, ``tdm status`` shows it.

Files under the Prefect home (``PREFECT_HOME``, under the TDM home, :func:`base.runtime.prefect_home_under`):

* ``tdm-server.lock``  serialises starts (``flock``): concurrent commands start one server;
* ``tdm-server.json``  the running server's pid, port, token, Prefect version and home (mode 0600);
  it is reused only if it answers ``/tdm-server`` with that token (never a stale port or a
  stranger's), runs the installed Prefect version and serves this Prefect home;
* ``tdm-server.users`` every command using the server holds a shared ``flock`` on it; the
  server stops only when it can take it exclusively (no command is mid-run, however long a task);
* ``tdm-server.log``   the server's own error output.

A configured server (``PREFECT_API_URL``) or a test harness (Prefect already imported) is used as is.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from base.errors import TdmError

DAEMON_TOKEN_ENV = "_TDM_DAEMON_TOKEN"          # how a launched server learns its identity token
IDLE_ENV = "TDM_PREFECT_SERVER_IDLE"          # Settings.prefect_server_idle (base.config)
#: The identification route the daemon answers (outside Prefect's ``/api``).
IDENTITY_PATH = "/tdm-server"
#: What a client of the home's own server skips: it is known to run the installed Prefect version
#: (``reusable``) with CSRF protection off (``Launch``), so the per-client ``/admin/version`` check and
#: ``/csrf-token`` fetch are three round trips (~60 ms each, and server CPU) a one-shot run does not need.
OWN_SERVER_CLIENT_ENV = {"PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED": "false",
                         "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false"}


@dataclass(frozen=True)
class ServerFiles:
    home: Path

    @property
    def lock(self) -> Path:
        return self.home / "tdm-server.lock"

    @property
    def state(self) -> Path:
        return self.home / "tdm-server.json"

    @property
    def users(self) -> Path:
        return self.home / "tdm-server.users"

    @property
    def log(self) -> Path:
        return self.home / "tdm-server.log"

    def marker(self, version: str) -> Path:
        """Exists once this Prefect version migrated and registered its blocks in this home."""
        return self.home / f"tdm-migrated-{version}"


def prefect_version() -> str:
    return importlib.metadata.version("prefect")


# --- the running server: its state file and identity -------------------------------------------------
def read_state(files: ServerFiles) -> dict | None:
    try:
        state = json.loads(files.state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and {"pid", "port", "token"} <= state.keys() else None


def write_state(files: ServerFiles, state: dict) -> None:
    """Atomically, readable by the owner only (the token proves a server is ours)."""
    tmp = files.state.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(tmp, files.state)


def remove_state_if(files: ServerFiles, token: str) -> None:
    """Remove the state file only if it still describes the server with ``token``."""
    state = read_state(files)
    if state and state.get("token") == token:
        with contextlib.suppress(FileNotFoundError):
            files.state.unlink()


def probe(state: dict, timeout: float = 1.0) -> dict | None:
    """The server's own description if the server on ``state``'s port is the one of ``state``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{int(state['port'])}{IDENTITY_PATH}", timeout=timeout) as r:
            info = json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError, TimeoutError):
        return None
    return info if isinstance(info, dict) and info.get("token") == state["token"] else None


def reusable(info: dict | None, prefect_home: Path, version: str) -> bool:
    """A server is reused only if it is ours, ready, of the installed Prefect version and this home."""
    return bool(info) and info.get("ready") is True and info.get("prefect_version") == version \
        and info.get("prefect_home") == str(Path(prefect_home).resolve())


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


@contextlib.contextmanager
def _flock(path: Path, mode: int, timeout: float | None = None):
    """Hold ``flock(mode)`` on ``path`` within; with ``timeout``, a clear error instead of waiting forever."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if timeout is None:
            fcntl.flock(fd, mode)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TdmError(f"the home's Prefect server has been stopping for over {timeout:g} s",
                                       code="prefect_server", file=str(path),
                                       hint="see tdm-server.log next to it; kill the process of tdm-server.json "
                                            "if it hangs") from None
                    time.sleep(0.05)
        yield fd
    finally:
        os.close(fd)          # closing releases the lock


def in_use(files: ServerFiles) -> bool:
    """True while some ``tdm`` command holds the users lock (a run in progress)."""
    if not files.users.exists():
        return False
    try:
        with _flock(files.users, fcntl.LOCK_EX | fcntl.LOCK_NB):
            return False
    except BlockingIOError:
        return True


# --- starting one -------------------------------------------------------------------------------------
class Launch:
    """A server being started by this command; ``wait_ready`` returns once ``/api/health`` answers."""

    def __init__(self, files: ServerFiles, idle: float, shared: bool) -> None:
        self.files = files
        self.token = secrets.token_hex(16)
        migrated = files.marker(prefect_version()).exists()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", "PREFECT_HOME": str(files.home),
               "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "false",   # loopback, no browser UI; see OWN_SERVER_CLIENT_ENV
               DAEMON_TOKEN_ENV: self.token,   # parent -> daemon only (not a setting: never set by a user)
               # the daemon imports tdm from where this process did, whatever its working folder
               "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                              *filter(None, [os.environ.get("PYTHONPATH")])])}
        env.pop("PREFECT_API_URL", None)
        if migrated:   # this Prefect version already migrated and registered its blocks here
            env.setdefault("PREFECT_API_DATABASE_MIGRATE_ON_START", "false")
            env.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
        with files.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tdm.prefect_daemon", "--prefect-home", str(files.home),
                 "--idle", repr(idle), "--shared" if shared else "--private"],
                env=env, cwd=str(files.home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True)    # not in the terminal's process group: Ctrl-C is for the command
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The server's port, read from it the first time it is needed (it binds before it imports
        Prefect, so the command need not wait for it while it does its own imports)."""
        if self._port is None:
            line = self.process.stdout.readline().decode("ascii", "replace").strip()   # the port, once bound
            self.process.stdout.close()
            if not line.isdigit():
                self.process.wait(timeout=10)
                raise self._failed()
            self._port = int(line)
        return self._port

    def _failed(self) -> TdmError:
        lines = self.files.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return TdmError(f"Prefect's server exited with code {self.process.returncode}"
                        + (f": {lines[-1]}" if lines else ""), code="prefect_server",
                        hint=f"see {self.files.log}; or set PREFECT_API_URL to a running Prefect server")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failed()
            if _healthy(self.port):
                self.files.marker(prefect_version()).touch()
                return
            time.sleep(0.05)
        raise TdmError(f"Prefect's server did not start within {timeout:g} s", code="prefect_server",
                       hint="raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or set PREFECT_API_URL")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        remove_state_if(self.files, self.token)     # stopped while still importing: no record left behind


@dataclass
class ServerLease:
    """What a command holds while it uses the server: its URL; ``wait_ready`` before the first flow."""

    reused_port: int | None       # the port of an already running server this command reuses, or
    launch: Launch | None         # the server this command started (None when one was reused)
    _start_lock: int | None       # held until the server this command started is ready

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.launch.port if self.launch else self.reused_port}/api"

    def wait_ready(self) -> None:
        if self.launch is not None and self._start_lock is not None:
            try:
                timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300"))
                self.launch.wait_ready(timeout)
            finally:
                os.close(self._start_lock)
                self._start_lock = None


def _reuse_or_launch(files: ServerFiles, idle: float) -> ServerLease:
    """Under the start lock: the running server of this home if it is fit, else a new one."""
    lock = os.open(files.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if idle > 0:
            state = read_state(files)
            if state and reusable(probe(state), files.home, prefect_version()):
                os.close(lock)
                return ServerLease(int(state["port"]), None, None)
        launch = Launch(files, idle, shared=idle > 0)
    except BaseException:
        os.close(lock)
        raise
    return ServerLease(None, launch, lock)


class PrefectApi:
    """A Prefect API for one command's flows, in two steps so that a server's start overlaps the
    command's own work: entering starts (or finds) the home's server and returns at once;
    :meth:`use` then points Prefect at it (``PREFECT_API_URL``) for the flows.  Leaving releases it;
    a server this command started is stopped if no flow used it (nothing started for nothing) or if
    ``idle`` is 0 (one server per command).

    ``idle``: ``Settings.prefect_server_idle`` (seconds a started server lives on unused).  Enter it
    before anything imports Prefect (Prefect reads ``PREFECT_API_URL`` at import).  When a server is
    configured (``PREFECT_API_URL``) or Prefect is already imported (a test harness), it does nothing
    and :meth:`use` yields None."""

    def __init__(self, prefect_home: Path, idle: float) -> None:
        self.prefect_home = Path(prefect_home)
        self.idle = idle
        self.lease: ServerLease | None = None
        self.used = False
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> PrefectApi:
        if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
            return self
        files = ServerFiles(self.prefect_home.resolve())
        files.home.mkdir(parents=True, exist_ok=True)
        try:
            # the server never stops under a running command; one that is stopping holds this exclusively
            self._stack.enter_context(_flock(files.users, fcntl.LOCK_SH, timeout=60))
            self.lease = _reuse_or_launch(files, self.idle)
            self._stack.callback(self._release)
        except BaseException:
            self._stack.close()
            raise
        return self

    def _release(self) -> None:
        lease = self.lease
        if lease.launch is not None and (self.idle == 0 or not self.used):
            lease.launch.stop()          # before the start lock goes: no other command meets a dying server
        if lease._start_lock is not None:
            os.close(lease._start_lock)
            lease._start_lock = None

    def __exit__(self, *exc) -> None:
        self._stack.close()

    @contextlib.contextmanager
    def use(self):
        """Within: ``PREFECT_API_URL`` is this home's server (yields the :class:`ServerLease`; call its
        ``wait_ready`` before the first flow), or the configured one (yields None)."""
        if self.lease is None:
            yield None
            return
        if self.lease.launch is not None and self.idle > 0 and not self.used:
            # a background process that outlives the command: say so, once, when a flow first uses it
            print(f"started this home's Prefect server (pid {self.lease.launch.process.pid}); it stops itself "
                  f"after {self.idle:g} s without use ({IDLE_ENV}); 'tdm prefect stop' stops it now", file=sys.stderr)
        self.used = True
        saved = {k: os.environ.get(k) for k in OWN_SERVER_CLIENT_ENV}
        os.environ.update({"PREFECT_API_URL": self.lease.url, **OWN_SERVER_CLIENT_ENV})
        try:
            yield self.lease
        finally:
            os.environ.pop("PREFECT_API_URL", None)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextlib.contextmanager
def prefect_api(prefect_home: Path, idle: float):
    """Within: a Prefect API for flows (``PREFECT_API_URL`` set); yields a :class:`ServerLease`,
    or None when a server is configured or Prefect is already imported (a test harness).
    Both steps of :class:`PrefectApi` at once."""
    with PrefectApi(prefect_home, idle) as api, api.use() as lease:
        yield lease


# --- status and stop (tdm status, tdm prefect stop) ---------------------------------------------------
def server_status(prefect_home: Path) -> dict | None:
    """The running server of this Prefect home as its state file and identity say; writes nothing."""
    files = ServerFiles(Path(prefect_home).resolve())
    state = read_state(files)
    if state is None:
        return None
    info = probe(state)
    return {**state, "answering": info is not None, "in_use": in_use(files),
            **({k: info[k] for k in ("ready", "idle_for", "pid") if k in info} if info else {})}


def describe(status: dict | None) -> str:
    """One line for ``tdm status``."""
    if status is None:
        return "Prefect server: not running (the next command that runs a flow starts one)"
    if not status["answering"]:
        return (f"Prefect server: pid {status['pid']} on port {status['port']} not answering "
                "(a stale record; the next command starts a new server)")
    idle = status.get("idle_seconds", 0)
    return (f"Prefect server: running on 127.0.0.1:{status['port']} (pid {status['pid']}, Prefect "
            f"{status.get('prefect_version')}, {'in use' if status['in_use'] else 'idle'} "
            f"{status.get('idle_for', 0):.0f} s; stops itself after {idle:g} s idle; "
            "'tdm prefect stop' stops it now)")


def stop_server(prefect_home: Path, timeout: float = 15.0) -> str:
    """Stop this home's server (SIGTERM to the pid the server itself reports); refuse while in use."""
    files = ServerFiles(Path(prefect_home).resolve())
    state = read_state(files)
    if state is None:
        return "no Prefect server running for this home"
    info = probe(state)
    if info is None:
        with _flock(files.lock, fcntl.LOCK_EX):
            remove_state_if(files, state["token"])
        return f"no Prefect server answering on port {state['port']}; removed its stale record"
    if in_use(files):
        raise TdmError("the Prefect server is in use by a running tdm command", code="prefect_server_busy",
                       hint="wait for it to finish (or stop it), then run 'tdm prefect stop' again")
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and probe(state, timeout=0.5) is not None:
        time.sleep(0.1)
    if probe(state, timeout=0.5) is not None:
        raise TdmError(f"the Prefect server (pid {pid}) did not stop within {timeout:g} s", code="prefect_server",
                       hint=f"kill {pid}")
    remove_state_if(files, state["token"])
    return f"stopped the Prefect server (pid {pid}, port {state['port']})"
