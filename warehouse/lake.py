"""The warehouse is a DuckLake: every connection to it is opened here.

A DuckLake is a catalog database (SQLite under the home by default, PostgreSQL when configured)
plus Parquet data files.  Readers in any process read it while a writer commits, and each sees the
last committed snapshot, so there is no read copy to publish.  Every connection is an in-memory
DuckDB with the lake attached as ``lake`` and ``USE``d: unqualified ``core.*``/``ingest.*`` names
resolve to the lake, while ``CREATE TEMP TABLE`` (the one path's per-file tables) stays in the
connection's own temporary catalog and never reaches the lake.

* :func:`open_writer` - the single writer: the lake-wide writers' lock (:func:`lake_writer_lock`:
  a PostgreSQL advisory lock for a PostgreSQL catalog, every machine; else a ``flock`` beside the
  catalog file; ids are ``max + 1`` and DuckLake over SQLite takes no writer lock), then the lake: a
  cursor of the writer database the process keeps for it (``warehouse.shared_db``).
* :func:`open_reader` - read-only: the lake attached ``READ_ONLY`` (optionally at a snapshot for a
  reproducible publication), then file access limited to the lake's data path, external access off
  and the configuration locked, so no later statement can read or write another file; a cursor of
  the database the process keeps for that lake (``warehouse.shared_db``: extensions loaded once).

An ``s3://`` data path gets one DuckDB S3 secret built from ``Settings.s3`` (:func:`s3_secret_sql`).
The extensions load offline from the PyPI packages ``duckdb-extension-ducklake``, ``-sqlite``,
``-postgres-scanner`` and ``-httpfs`` when their version is the running DuckDB's; otherwise DuckDB's own
``INSTALL`` (network) is tried, and an error says what to install when neither works.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from base.config import DEFAULT_LIMITS, LakeSpec
from base.errors import WarehouseBusy, WarehouseError
from warehouse import shared_db
from warehouse.extensions import NO_AUTOLOAD, load_extensions, loadable, needed_extensions, packaged_extension

ALIAS = "lake"
LOCK_WAIT_SECONDS = 30.0
S3_SECRET = "tdm_lake_s3"
# pg_try_advisory_xact_lock's key for the lake's writers (b"tdmlake1"); advisory locks are per database
PG_WRITER_LOCK_KEY = 0x74646D6C616B6531
# The writer's allocator returns freed memory to the OS after every task above this much (DuckDB's
# defaults, 128 MiB and 512 MiB, exceed a small memory limit: freed buffers stayed resident, and
# with TDM_WRITER_MEMORY_LIMIT=96MB the peak RSS grew 0.5-0.8 MB per MB of file; measured, 1.5.5).
WRITER_ALLOCATOR = {"allocator_flush_threshold": "4MB", "allocator_bulk_deallocation_flush_threshold": "4MB"}


def _attach_sql(lake: LakeSpec, *, read_only: bool, snapshot_version: int | None = None) -> str:
    options = []
    if lake.data_path and not read_only:
        options.append(f"DATA_PATH {quote(lake.data_path)}")
    if read_only:
        options.append("READ_ONLY")
    if snapshot_version is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot_version)}")
    return f"ATTACH {quote(lake.url)} AS {ALIAS}" + (f" ({', '.join(options)})" if options else "")


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sqlite_wal(catalog: Path) -> None:
    """Put a SQLite catalog in WAL mode (persistent; a no-op once set).

    In SQLite's default rollback journal an idle reader of the same process keeps the writer's
    COMMIT from taking its lock ("database is locked", measured: the web app reads while its drop
    zone ingests); in WAL mode readers and the writer never block each other.  Python's own sqlite3
    is a second SQLite library in the process: closing it drops the POSIX locks DuckDB's SQLite
    holds on the same file (measured: "disk I/O error"), so this runs only while no DuckDB
    connection of this process has the catalog open (at creation, and by ``migrate.upgrade``)."""
    if catalog.exists():         # close the readers' databases this process keeps on it
        shared_db.close_idle(lambda key, identity=shared_db.file_identity(catalog): key[0] == identity)
    db = sqlite3.connect(catalog, timeout=30)
    try:
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()


def s3_secret_sql(lake: LakeSpec, *, credentials: bool = True) -> str | None:
    """The ``CREATE SECRET`` that lets httpfs reach the lake's S3 data path (None: no remote data).

    Built from ``Settings.s3`` (TDM_S3_* / AWS_*); unset fields keep DuckDB's defaults.  For a
    server on loopback such as moto or MinIO: ``ENDPOINT 'host:port'``, ``URL_STYLE 'path'``,
    ``USE_SSL false`` (what an ``http://`` endpoint gives).  Without ``credentials`` the key id,
    secret and session token are left out (``tdm connect --print``: analysts add their own)."""
    if not lake.remote_data:
        return None
    s3 = lake.s3
    options = ["TYPE s3"]
    if s3 is not None:
        endpoint, use_ssl = s3.endpoint, s3.use_ssl
        if endpoint:
            scheme, sep, rest = endpoint.partition("://")
            if sep:
                endpoint = rest
                use_ssl = (scheme.lower() == "https") if use_ssl is None else use_ssl
            options.append(f"ENDPOINT {quote(endpoint.rstrip('/'))}")
        secrets = (("KEY_ID", s3.key_id), ("SECRET", s3.secret), ("SESSION_TOKEN", s3.session_token))
        for key, value in (*(secrets if credentials else ()), ("REGION", s3.region), ("URL_STYLE", s3.url_style)):
            if value:
                options.append(f"{key} {quote(value)}")
        if use_ssl is not None:
            options.append(f"USE_SSL {'true' if use_ssl else 'false'}")
    return f"CREATE OR REPLACE SECRET {S3_SECRET} ({', '.join(options)})"


def attach(con, lake: LakeSpec, *, read_only: bool, snapshot_version: int | None = None) -> None:
    """On a fresh DuckDB connection: the extensions, the S3 secret of a remote data path, the lake
    attached as ``lake``, ``USE lake`` (the one sequence every warehouse connection runs, the
    migrations' SQLAlchemy ones included)."""
    catalog = lake.catalog_file
    if catalog is not None and not read_only:
        catalog.parent.mkdir(parents=True, exist_ok=True)
        if lake.url.startswith("ducklake:sqlite:") and not catalog.exists():
            sqlite_wal(catalog)      # created in WAL mode, before any DuckDB connection has it open
    # no progress bar (a connection-local setting): a statement over ~2 s printed one to stdout,
    # garbling a command's output (and the large-file test's JSON line: its flakiness)
    con.execute("SET enable_progress_bar = false")
    load_extensions(con, lake)
    secret = s3_secret_sql(lake)
    if secret:
        con.execute(secret)
    con.execute(_attach_sql(lake, read_only=read_only, snapshot_version=snapshot_version))
    con.execute(f"USE {ALIAS}")


def _existing_catalog(lake: LakeSpec) -> Path | None:
    """The local catalog file, which a reader needs to exist (None: a catalog server)."""
    catalog = lake.catalog_file
    if catalog is not None and not catalog.is_file():
        raise WarehouseError("there is no warehouse here yet", file=str(catalog), code="no_warehouse",
                             hint="run 'tdm init' first")
    return catalog


def connect(lake: LakeSpec, *, read_only: bool, snapshot_version: int | None = None,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` and in use (no other guard)."""
    if read_only:
        _existing_catalog(lake)
    config = dict(NO_AUTOLOAD, **({"memory_limit": memory_limit, **WRITER_ALLOCATOR} if memory_limit else {}))
    con = duckdb.connect(":memory:", config=config)
    try:
        attach(con, lake, read_only=read_only, snapshot_version=snapshot_version)
    except duckdb.Error as exc:
        con.close()
        if read_only and "creating a new DuckLake is explicitly disabled" in str(exc):   # a catalog server, empty
            raise WarehouseError("there is no warehouse in this catalog yet", file=lake.url, code="no_warehouse",
                                 hint="run 'tdm init' first") from exc
        raise WarehouseError(f"cannot open the warehouse: {str(exc).splitlines()[0]}", file=lake.url,
                             code="lake_unavailable") from exc
    except BaseException:
        con.close()
        raise
    return con


def lake_exists(lake: LakeSpec) -> bool:
    """A local catalog file exists (a catalog server is assumed to: opening it says otherwise)."""
    catalog = lake.catalog_file
    return catalog is None or catalog.is_file()


def lock_path(lake: LakeSpec, home: Path | None = None) -> Path:
    """The writers' lock file: beside a local catalog, else in the home (one machine's writers)."""
    catalog = lake.catalog_file
    if catalog is not None:
        return catalog.with_name(catalog.name + ".writer-lock")
    if home is None:
        raise WarehouseError("a lake with a catalog server needs the home for its writer lock", code="lake_lock")
    return Path(home) / "lake-writer.lock"


@contextlib.contextmanager
def writer_lock(path: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, waited for up to ``wait_seconds`` (then WarehouseBusy).

    The kernel drops it when the process dies (even by SIGKILL), so a crash never leaves it held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline, delay = time.monotonic() + wait_seconds, 0.02
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy("the warehouse is being written by another process", file=str(path),
                                        hint="wait for the running ingestion to finish, or stop 'tdm watch'") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def postgres_lock(lake: LakeSpec, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """The writers' lock of a lake with a PostgreSQL catalog, for every machine that writes to it:
    a transaction-scoped advisory lock (``pg_try_advisory_xact_lock``) in the catalog's database,
    held by an open transaction of a connection of our own, waited for up to ``wait_seconds``
    (then WarehouseBusy).

    PostgreSQL drops it when that session ends, so a writer killed by SIGKILL (or its machine lost)
    never leaves it held.  Transaction-scoped because DuckDB's postgres extension pins one server
    connection to a DuckDB transaction but may reset a pooled one between statements (measured: a
    session-level ``pg_advisory_lock`` taken outside a transaction was not held)."""
    con = duckdb.connect(":memory:", config=dict(NO_AUTOLOAD))
    try:
        try:
            load_extensions(con, lake, ["postgres"])
            con.execute(f"ATTACH {quote(lake.postgres_dsn)} AS tdm_lock (TYPE postgres)")
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot reach the lake's PostgreSQL catalog: {str(exc).splitlines()[0]}",
                                 file=lake.url, code="lake_unavailable",
                                 hint="check TDM_LAKE's host, port, dbname and user, and that the server runs") from exc
        take = (f"SELECT * FROM postgres_query('tdm_lock', "
                f"'SELECT pg_try_advisory_xact_lock({PG_WRITER_LOCK_KEY}) AS taken')")
        deadline, delay = time.monotonic() + wait_seconds, 0.02
        while True:
            con.execute("BEGIN")
            if con.execute(take).fetchone()[0]:
                break
            con.execute("ROLLBACK")
            if time.monotonic() >= deadline:
                raise WarehouseBusy("the warehouse is being written by another process (the lake's PostgreSQL "
                                    "writer lock is held)", file=lake.url,
                                    hint="wait for the running ingestion to finish, or stop 'tdm watch'")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        try:
            yield
        finally:
            con.execute("ROLLBACK")
    finally:
        con.close()


@contextlib.contextmanager
def lake_writer_lock(lake: LakeSpec, home: Path | None = None, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """The one lock every writer of ``lake`` takes (ids are ``max + 1``: two writers at once would
    collide): a PostgreSQL advisory lock for a PostgreSQL catalog (every machine), else the ``flock``
    beside a local catalog file (every home sharing it)."""
    if lake.postgres_dsn is not None:
        with postgres_lock(lake, wait_seconds):
            yield
    else:
        with writer_lock(lock_path(lake, home), wait_seconds):
            yield


def _kept_key(lake: LakeSpec, *kind) -> tuple:
    """The key of a database this process keeps for ``lake`` (``warehouse.shared_db``): the catalog
    file's identity first (what :func:`sqlite_wal` matches to close them), else the catalog's URL."""
    catalog = lake.catalog_file
    return (shared_db.file_identity(catalog) if catalog is not None else lake.url, lake.url, lake.data_path, *kind)


@contextlib.contextmanager
def open_writer(lake: LakeSpec, *, home: Path | None = None, wait_seconds: float = LOCK_WAIT_SECONDS,
                memory_limit: str = DEFAULT_LIMITS.writer_memory_limit,
                spill_root: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer: the writers' lock, then the lake attached read-write, ``USE``d: a cursor of
    the writer database this process keeps for the lake (:func:`_writer_database`; a lake that does
    not exist yet gets a database of its own, closed after).

    ``memory_limit`` (TDM_WRITER_MEMORY_LIMIT) caps DuckDB's buffer pool; the file's temporary
    tables spill beyond it into the database's private folder under ``spill_root`` (TDM_SPILL_DIR;
    an in-memory DuckDB has none by default: a small limit failed with "failed to pin block"), so a
    multi-GB file is ingested at a bounded footprint."""
    with lake_writer_lock(lake, home, wait_seconds):
        catalog = lake.catalog_file
        if catalog is not None and not catalog.is_file():
            db, remove_spill = _writer_database(lake, memory_limit, spill_root)
            try:
                yield db
            finally:
                db.close()
                remove_spill()
            return
        key = _kept_key(lake, "writer", memory_limit, str(spill_root))
        con = shared_db.kept_cursor(key, lambda: _writer_database(lake, memory_limit, spill_root))
        try:
            con.execute(f"USE {ALIAS}")
            yield con
        except (duckdb.FatalException, duckdb.InternalException):
            con.close()
            shared_db.discard(key)           # invalidated: the next file gets a new database
            raise
        finally:
            con.close()


def _writer_database(lake: LakeSpec, memory_limit: str, spill_root: Path | None):
    """The lake attached read-write under ``memory_limit``, spilling into a folder of its own; with the
    function that removes that folder once the database is closed."""
    if spill_root is not None:
        spill_root.mkdir(parents=True, exist_ok=True)
    spill = tempfile.mkdtemp(prefix="tdm-writer-spill-", dir=spill_root)
    try:
        con = connect(lake, read_only=False, memory_limit=memory_limit)
    except BaseException:
        shutil.rmtree(spill, ignore_errors=True)
        raise
    con.execute(f"SET temp_directory = {quote(spill)}")
    return con, lambda: shutil.rmtree(spill, ignore_errors=True)


def _data_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The attached lake's data path, a folder or an ``s3://`` prefix (what a locked reader may read)."""
    row = con.execute(f"SELECT value FROM __ducklake_metadata_{ALIAS}.ducklake_metadata "
                      "WHERE key = 'data_path'").fetchone()
    if not row:
        return None
    if "://" in row[0]:
        return row[0] if row[0].endswith("/") else row[0] + "/"
    path = Path(row[0])
    if not path.is_absolute():       # stored relative to the catalog file
        catalog = con.execute(f"SELECT path FROM duckdb_databases() WHERE database_name = "
                              f"'__ducklake_metadata_{ALIAS}'").fetchone()
        path = Path(catalog[0]).parent / path if catalog and catalog[0] else path
    return str(path.resolve()) + "/"


def open_reader(lake: LakeSpec, *, snapshot_version: int | None = None,
                external_access: bool = False) -> duckdb.DuckDBPyConnection:
    """The lake read-only (at ``snapshot_version`` when given), ``USE``d, as a cursor of the database
    this process keeps for the lake (``warehouse.shared_db``: opened by :func:`_reader_database` on
    first use)."""
    _existing_catalog(lake)
    key = _kept_key(lake, snapshot_version, external_access)
    con = shared_db.kept_cursor(key, lambda: (_reader_database(lake, snapshot_version, external_access), None))
    con.execute(f"USE {ALIAS}")
    return con


def _reader_database(lake: LakeSpec, snapshot_version: int | None, external_access: bool) -> duckdb.DuckDBPyConnection:
    """The lake attached read-only.  Without ``external_access`` the database can afterwards read only
    the lake's own data files, write none, load nothing, and no setting can be changed back
    (``lock_configuration``)."""
    con = connect(lake, read_only=True, snapshot_version=snapshot_version)
    if not external_access:
        try:
            data = _data_path(con)
            if data:
                con.execute(f"SET allowed_directories = [{quote(data)}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
    return con


def connect_lines(lake: LakeSpec) -> dict[str, str]:
    """One line each for the DuckDB CLI, Python and R that opens the lake read-only (``tdm connect``).

    Python loads the extensions from this installation's packages (offline, this DuckDB version);
    the CLI and R sessions run their own DuckDB version, so they ``INSTALL`` the extensions (once,
    with network) unless the CLI is the same version (then the LOAD lines work offline)."""
    needed = needed_extensions(lake)
    secret = s3_secret_sql(lake, credentials=False)
    attach = (f"{secret}; " if secret else "") + f"ATTACH {quote(lake.url)} AS {ALIAS} (READ_ONLY); USE {ALIAS};"
    packaged = [(n, packaged_extension(n)) for n in needed]
    loads = " ".join(f"LOAD {quote(str(loadable(n, b)))};" if b else f"INSTALL {n}; LOAD {n};" for n, b in packaged)
    installs = " ".join(f"INSTALL {n}; LOAD {n};" for n in needed)
    py_sql = f"{loads} {attach}".replace('"', '\\"')
    r_sql = f"{installs} {attach}".replace('"', '\\"')
    return {
        "duckdb": f'duckdb -cmd "{installs} {attach}"',
        "python": f'import duckdb; con = duckdb.connect(); con.execute("{py_sql}")',
        "r": f'library(DBI); con <- dbConnect(duckdb::duckdb()); dbExecute(con, "{r_sql}")',
    }


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The lake's snapshot id as this connection sees it (what a publication records)."""
    return int(con.execute(f"SELECT id FROM {ALIAS}.current_snapshot()").fetchone()[0])


__all__ = ["ALIAS", "PG_WRITER_LOCK_KEY", "S3_SECRET", "lake_writer_lock", "postgres_lock",
           "s3_secret_sql", "attach", "sqlite_wal", "connect", "connect_lines", "current_snapshot", "lake_exists", "lock_path", "open_reader", "open_writer",
           "writer_lock"]
