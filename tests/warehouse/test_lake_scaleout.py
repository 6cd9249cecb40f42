"""Issue 16, scale-out: the lake on a PostgreSQL catalog with its data in S3 (servers on loopback,
tests/lake_servers.py), one writers' lock for every machine, and two ingestion workers (two homes,
two inboxes: two "machines") loading into one lake at once, every file exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from schema.dictionary import ENTITIES
from base.config import LakeSpec, load_settings
from base.errors import WarehouseBusy
from synth import generate_cohort, write_exports
from warehouse.lake import lake_writer_lock, open_reader, s3_secret_sql
from tests.lake import read_lake

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "scaleout-key-0123456789abcdef"


# --- the S3 secret, from the settings (no server) ----------------------------------------------------

def test_the_s3_secret_is_built_from_tdm_s3_then_aws_variables(tmp_path):
    env = {"TDM_LAKE": "ducklake:postgres:dbname=lake host=db;data_path=s3://bucket/lake/",
           "TDM_S3_ENDPOINT": "http://127.0.0.1:9000", "TDM_S3_URL_STYLE": "path",
           "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "se'cret", "AWS_DEFAULT_REGION": "eu-west-3"}
    lake = load_settings(tmp_path, environ=env).lake
    assert s3_secret_sql(lake) == (
        "CREATE OR REPLACE SECRET tdm_lake_s3 (TYPE s3, ENDPOINT '127.0.0.1:9000', KEY_ID 'AKID', "
        "SECRET 'se''cret', REGION 'eu-west-3', URL_STYLE 'path', USE_SSL false)")
    # TDM_S3_* win over AWS_*; https keeps SSL; TDM_S3_USE_SSL wins over the scheme
    env |= {"TDM_S3_KEY_ID": "mine", "TDM_S3_ENDPOINT": "https://s3.example:443/", "TDM_S3_USE_SSL": "0"}
    sql = s3_secret_sql(load_settings(tmp_path, environ=env).lake)
    assert "KEY_ID 'mine'" in sql and "ENDPOINT 's3.example:443'" in sql and "USE_SSL false" in sql
    # what analysts are shown carries no credentials; the settings never print them
    shown = s3_secret_sql(lake, credentials=False)
    assert "AKID" not in shown and "cret" not in shown and "ENDPOINT '127.0.0.1:9000'" in shown
    assert "AKID" not in repr(load_settings(tmp_path, environ=env)) and "cret" not in repr(lake)


def test_the_analysts_lines_for_a_postgres_s3_lake_carry_the_endpoint_but_no_credentials(tmp_path):
    from warehouse.lake import connect_lines

    env = {"TDM_LAKE": "ducklake:postgres:dbname=lake host=db;data_path=s3://bucket/lake/",
           "TDM_S3_ENDPOINT": "127.0.0.1:9000", "TDM_S3_URL_STYLE": "path", "TDM_S3_KEY_ID": "AKID",
           "TDM_S3_SECRET": "hush"}
    lines = connect_lines(load_settings(tmp_path, environ=env).lake)
    for line in lines.values():
        assert "INSTALL postgres" in line or "postgres_scanner.duckdb_extension" in line
        assert "httpfs" in line and "ENDPOINT '127.0.0.1:9000'" in line and "URL_STYLE 'path'" in line
        assert "AKID" not in line and "hush" not in line
        assert "ATTACH 'ducklake:postgres:dbname=lake host=db' AS lake (READ_ONLY)" in line


def test_a_local_lake_needs_no_s3_even_with_aws_variables_set(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "x"}
    assert s3_secret_sql(load_settings(tmp_path, environ=env).lake) is None
    server = LakeSpec.parse("ducklake:postgres:dbname=lake host=db")
    assert not server.remote_data and server.postgres_dsn == "dbname=lake host=db"
    assert LakeSpec.parse("ducklake:postgres:dbname=lake;data_path=s3://b/p/").remote_data


# --- PostgreSQL catalog + S3 data path ----------------------------------------------------------------

def _exports(folder, centres, n=24, seed=11):
    from centres import builtin_profiles

    profiles = builtin_profiles()
    write_exports(generate_cohort(n, centres, seed), {c: profiles[c] for c in centres}, folder, error_rate=0.0,
                  seed=seed)


def _home(tmp_path, name, env, monkeypatch=None):
    """A home on the lake of ``env``, initialised (``tdm init``)."""
    from centres import install_builtin_profiles
    from warehouse.init import init_warehouse

    settings = load_settings(tmp_path / name, environ={**env, "TDM_PSEUDONYM_KEY": KEY})
    settings.ensure_dirs()
    install_builtin_profiles(settings)
    init_warehouse(settings)
    return settings


def test_the_postgres_writer_lock_is_one_for_every_process_and_dies_with_its_holder(lake_servers, tmp_path):
    env = lake_servers.new_lake("lock")
    lake = load_settings(tmp_path, environ=env).lake
    held, release = threading.Event(), threading.Event()

    def holder():
        with lake_writer_lock(lake):
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(30)
    with pytest.raises(WarehouseBusy):
        with lake_writer_lock(lake, wait_seconds=0.3):
            pass
    release.set()
    t.join()
    with lake_writer_lock(lake, wait_seconds=5):
        pass
    # a holder killed by SIGKILL: the server drops its session and the lock with it
    code = textwrap.dedent(f"""
        import sys, time; sys.path.insert(0, {ROOT!r})
        from base.config import load_settings
        from warehouse.lake import lake_writer_lock
        with lake_writer_lock(load_settings({str(tmp_path)!r}, environ={env!r}).lake):
            print("held", flush=True); time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy):
            with lake_writer_lock(lake, wait_seconds=0.3):
                pass
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        start = time.monotonic()
        with lake_writer_lock(lake, wait_seconds=10):
            pass
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait()


# --- two workers, two homes, one lake, at once --------------------------------------------------------

WORKER = ("import sys, time; sys.path.insert(0, {root!r}); from ingestion import run_pass; "
          "start = time.time(); r = run_pass({home!r}, stable_seconds=0); "
          "print(start, time.time(), sorted((c.file_name, c.status) for c in r))")


def _two_workers_at_once(tmp_path, env):
    """Two homes with their own inboxes (other centres' files) on the lake of
    ``env``; both run a pass at the same moment as separate processes."""
    homes = [_home(tmp_path, f"machine{i}", env) for i in (1, 2)]
    _exports(homes[0].inbox, ("smc",), n=8, seed=21)
    _exports(homes[1].inbox, ("knuh",), n=8, seed=22)
    names = [sorted(p.name for p in h.inbox.rglob("*.*")) for h in homes]
    child_env = {**os.environ, **env, "TDM_PSEUDONYM_KEY": KEY}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER.format(root=ROOT, home=str(h.home))], env=child_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for h in homes]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    spans = [tuple(map(float, out.split()[:2])) for out, _ in outs]
    assert max(s for s, _ in spans) < min(e for _, e in spans), f"the passes did not overlap: {spans}"
    return homes, names, outs


def _assert_every_file_exactly_once(homes, names, reader, outs):
    con = reader
    try:
        files = con.execute("SELECT file_id, file_name, status FROM ingest.files ORDER BY file_id").fetchall()
        ids = [f[0] for f in files]
        assert ids == list(range(1, len(ids) + 1)), ids           # no id taken twice, none lost
        assert sorted(f[1] for f in files) == sorted(names[0] + names[1]), (files, outs)
        assert {f[2] for f in files} == {"loaded"}
        for e in ENTITIES.values():            # the entity keys the lake does not enforce
            key = ", ".join(e.key)
            dup = con.execute(f"SELECT {key}, count(*) FROM core.{e.table} WHERE is_current "
                              "GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchone()
            assert dup is None, (e.table, dup)
        lines = " UNION ALL ".join(f"SELECT file_id, source_line FROM core.{e.table}" for e in ENTITIES.values())
        per_file = con.execute(f"SELECT f.file_name, f.rows_loaded, (SELECT count(DISTINCT source_line) FROM "
                               f"({lines}) r WHERE r.file_id = f.file_id) FROM ingest.files f").fetchall()
        assert all(loaded == rows for _, loaded, rows in per_file), per_file
    finally:
        con.close()
    for h, n in zip(homes, names):
        assert not list(h.inbox.rglob("*.*")), "each worker archived its own files"
        assert sorted(p.name.split("-", 1)[1] for p in h.archive.rglob("*.*")) == n


def test_two_workers_on_one_sqlite_lake(tmp_path):
    shared = tmp_path / "shared"
    env = {"TDM_LAKE": f"ducklake:sqlite:{shared}/catalog.sqlite;data_path={shared}/data/"}
    homes, names, outs = _two_workers_at_once(tmp_path, env)
    _assert_every_file_exactly_once(homes, names, read_lake(homes[0]), outs)


def test_a_locked_down_reader_reads_the_lake_in_s3_and_nothing_else(lake_servers, tmp_path):
    """Rows committed to a PostgreSQL + S3 lake land as Parquet in the bucket; the guarded reader
    (``tdm sql``, the web app) may read exactly the lake's prefix there, and no local file."""
    from warehouse.lake import open_writer
    from warehouse.load import load_file, reserve_file_id
    from tests.factories import accepted_result, file_meta, frame, patient

    env = lake_servers.new_lake("reader_s3")
    settings = _home(tmp_path, "home", env)
    with open_writer(settings.lake, home=settings.home) as con:
        load_file(con, reserve_file_id(con), file_meta(checksum="s3"),
                  accepted_result({"patient": frame("patient", [patient(f"P{i}") for i in range(3000)])}))
    keys = lake_servers.objects("reader_s3")
    assert any(k.startswith("lake/core/patients/") and k.endswith(".parquet") for k in keys), keys
    con = open_reader(settings.lake)
    try:
        assert con.execute("SELECT count(*) FROM core.patients").fetchone()[0] == 3000
        allowed = con.execute("SELECT value FROM duckdb_settings() WHERE name = 'allowed_directories'").fetchone()[0]
        assert "s3://reader-s3/lake/" in allowed and "s3://reader-s3/'" not in allowed
        with pytest.raises(Exception, match="disabled by configuration"):
            con.execute(f"SELECT * FROM read_csv('{ROOT}/pyproject.toml')")
    finally:
        con.close()


@pytest.mark.slow   # ~25 s quiet, ~80 s under load; run by .ci/run (the SQLite twin runs in make test)
def test_two_workers_on_one_postgres_s3_lake(lake_servers, tmp_path):
    """... and on a PostgreSQL catalog with the Parquet files in the bucket, where an analyst's
    locked-down reader reads them (and still no local file)."""
    env = lake_servers.new_lake("two_workers")
    homes, names, outs = _two_workers_at_once(tmp_path, env)
    _assert_every_file_exactly_once(homes, names, open_reader(homes[0].lake, external_access=True), outs)
    keys = lake_servers.objects("two_workers")
    assert any(k.startswith("lake/core/") and k.endswith(".parquet") for k in keys), keys   # (small inserts may be inlined in the catalog)
    con = open_reader(homes[1].lake)
    try:
        assert con.execute("SELECT count(*) FROM analysis.cohort").fetchone()[0] > 0
        with pytest.raises(Exception, match="disabled by configuration"):
            con.execute(f"SELECT * FROM read_csv('{ROOT}/pyproject.toml')")
    finally:
        con.close()
