"""The server process behind :mod:`tdm.prefect_server`: Prefect's own app on loopback, idle-aware.

``python -m tdm.prefect_daemon --prefect-home DIR --idle SECONDS --shared|--private``

Binds 127.0.0.1 on a free port *first* (so the starter learns the port at once, with no race for
it), records itself in ``tdm-server.json`` when shared, prints the port, then imports and serves
Prefect's app (``prefect.server.api.server.create_app``, the app Prefect's own temporary server
runs, with the same environment; imported with the garbage collector paused) under uvicorn.  A thin ASGI wrapper answers ``/tdm-server``
(token, pid, version, home: how a client tells this server from a stale port) and notes the time
of every other request; the server exits once it has had no request for ``--idle`` seconds *and*
no ``tdm`` command holds the users lock.  SIGTERM (``tdm prefect stop``) stops it cleanly.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from tdm.prefect_server import DAEMON_TOKEN_ENV, IDENTITY_PATH, ServerFiles, prefect_version, remove_state_if, write_state
from base.runtime import imports_without_gc, own_process

#: How often the idle check runs (uvicorn ticks every 0.1 s).
CHECK_EVERY_TICKS = 10


class Activity:
    """ASGI wrapper: ``/tdm-server`` identity; the time of the last request and requests in flight."""

    def __init__(self, app, identity: dict) -> None:
        self.app = app
        self.identity = identity
        self.last = time.monotonic()
        self.in_flight = 0

    def idle_for(self) -> float:
        return 0.0 if self.in_flight else time.monotonic() - self.last

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == IDENTITY_PATH:    # a look, not a use: status and probes do not keep it alive
            body = json.dumps({**self.identity, "ready": True, "idle_for": self.idle_for()}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return None
        self.in_flight += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.last = time.monotonic()


def idle_and_unused(activity: Activity, idle: float, users_fd: int) -> bool:
    """True (and the users lock then held exclusively until exit) when it is time to stop."""
    if activity.idle_for() < idle:
        return False
    try:
        fcntl.flock(users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False           # a command is mid-run (a long task makes no requests for a while)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tdm.prefect_daemon")
    ap.add_argument("--prefect-home", required=True)
    ap.add_argument("--idle", type=float, required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--shared", action="store_true")
    mode.add_argument("--private", action="store_true")
    a = ap.parse_args(argv)
    own_process()
    files = ServerFiles(Path(a.prefect_home).resolve())
    token = os.environ.pop(DAEMON_TOKEN_ENV)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    identity = {"token": token, "pid": os.getpid(), "port": port, "prefect_version": prefect_version(),
                "prefect_home": str(files.home), "idle_seconds": a.idle, "started_at": time.time()}
    if a.shared:
        write_state(files, identity)
    try:
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)        # the starter has read the port; nothing else goes to its pipe

        with imports_without_gc():      # collections of import-time objects: ~15-25% of the start's CPU
            # lazy: the port goes to the starter before the server app's imports (seconds) begin
            import uvicorn
            from prefect.server.api.server import create_app

            activity = Activity(create_app(), identity)
        users_fd = os.open(files.users, os.O_RDWR | os.O_CREAT, 0o600)

        class IdleServer(uvicorn.Server):
            async def on_tick(self, counter: int) -> bool:
                if counter % CHECK_EVERY_TICKS == 0 and not self.should_exit \
                        and idle_and_unused(activity, a.idle, users_fd):
                    if a.shared:
                        remove_state_if(files, token)     # no new user finds it while it shuts down
                    self.should_exit = True
                return await super().on_tick(counter)

        config = uvicorn.Config(activity, log_level="error", lifespan="on", access_log=False)
        IdleServer(config).run(sockets=[sock])
    finally:
        if a.shared:
            remove_state_if(files, token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
