"""Throwaway lake servers on loopback: a PostgreSQL cluster (the catalog) and moto's S3 server (the
data path), for the suite's runs against a scaled-out lake (issue 16).

``lake_servers`` (session-scoped, registered in tests/conftest.py) starts both once; each test then
asks it for a fresh lake (``servers.new_lake(name)``: its own database and bucket) and gets the
``TDM_*`` environment that points a home at it.  Skipped, with the reason, when Debian's postgresql
binaries or moto are missing.  As root (CI) the cluster runs as the ``postgres`` user (initdb refuses
root); otherwise as the user running the tests.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

S3_KEY_ID, S3_SECRET, S3_REGION = "tdm-test-key", "tdm-test-secret", "us-east-1"


def postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and createdb: Debian's /usr/lib/postgresql/<newest>/bin, else
    the folder pg_ctl on PATH resolves to."""
    tools = ("initdb", "pg_ctl", "createdb")
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parts[-2]))
    found = shutil.which("pg_ctl")
    for folder in [*reversed(versions), *([str(Path(found).resolve().parent)] if found else [])]:
        if all((Path(folder) / t).is_file() for t in tools):
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    """A cluster on 127.0.0.1:port, trust authentication for the superuser ``tdm``."""

    bin: Path
    root: Path
    port: int
    run_as: str | None                     # the OS user the server runs as (None: this one)

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.run_as, "--"] if self.run_as else []) + list(args)

    def start(self) -> None:
        data = self.root / "data"
        subprocess.run(self._cmd(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "tdm",
                                 "--no-sync", "-E", "UTF8"), check=True, capture_output=True)
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(self._cmd(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                 str(self.root / "server.log"), "-w", "-t", "60", "start"), check=True,
                       capture_output=True)

    def stop(self) -> None:
        subprocess.run(self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                                 "-w", "stop"), capture_output=True)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its libpq connection string."""
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "tdm", name],
                       check=True, capture_output=True)
        return f"dbname={name} host=127.0.0.1 port={self.port} user=tdm"


@dataclass
class LakeServers:
    postgres: Postgres
    s3_endpoint: str                       # http://127.0.0.1:port
    s3: object                             # a boto3 S3 client on it
    made: list[str] = field(default_factory=list)

    def new_lake(self, name: str) -> dict[str, str]:
        """A fresh database and bucket named ``name``: the TDM_* variables of a home on that lake."""
        name = name.lower().replace("_", "-")
        dsn = self.postgres.create_database(name.replace("-", "_"))
        self.s3.create_bucket(Bucket=name)
        self.made.append(name)
        return {"TDM_LAKE": f"ducklake:postgres:{dsn};data_path=s3://{name}/lake/",
                "TDM_S3_ENDPOINT": self.s3_endpoint, "TDM_S3_URL_STYLE": "path", "TDM_S3_REGION": S3_REGION,
                "TDM_S3_KEY_ID": S3_KEY_ID, "TDM_S3_SECRET": S3_SECRET}

    def objects(self, bucket: str) -> list[str]:
        """The keys in a bucket (where the lake's Parquet files went)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket.lower().replace("_", "-"))
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _cluster_user() -> str | None:
    """None when not root; as root the ``postgres`` user (skip when there is none)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run initdb as (apt-get install postgresql)")
    return "postgres"


@pytest.fixture(scope="session")
def lake_servers():
    """PostgreSQL and moto's S3 on loopback for the whole session (about 3 s to start)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install -e '.[dev]')")
    import boto3

    run_as = _cluster_user()
    root = Path(tempfile.mkdtemp(prefix="tdm-pg-"))
    if run_as:
        os.chmod(root, 0o755)
        shutil.chown(root, run_as)
        probe = subprocess.run(["runuser", "-u", run_as, "--", "test", "-w", str(root)])
        if probe.returncode:
            shutil.rmtree(root, ignore_errors=True)
            root = Path(tempfile.mkdtemp(prefix="tdm-pg-", dir="/tmp"))    # TMPDIR not reachable by that user
            os.chmod(root, 0o755)
            shutil.chown(root, run_as)
    pg = Postgres(bin_dir, root, free_port(), run_as)
    pg.start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)      # one line per S3 request otherwise
    s3_server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3_server.start()
    try:
        host, port = s3_server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY_ID,
                              aws_secret_access_key=S3_SECRET, region_name=S3_REGION)
        yield LakeServers(pg, endpoint, client)
    finally:
        s3_server.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
