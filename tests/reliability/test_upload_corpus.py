"""The broken-input corpus uploaded through the web app's drop zone ends exactly as dropped in the folder.

The folder pass is the session's ``corpus_pass`` (every file written to the inboxes, one
``run_pass``).  Here a fresh home receives the very same bytes one upload at a time, in the order that
pass processed them (centre, then kind, then arrival), signed in as each centre's data manager; then
every file's ``ingest.files`` outcome, its findings (rule, severity, line, column, message) and where
the file went (archived, or deleted for direct identifiers) must be the same, file by file.
"""

from __future__ import annotations

import hashlib
import re

import duckdb
import pandas as pd
import pytest

from tests.reliability.conftest import GOOD, KEY, read_tables, write_inbox
from tests.reliability.corpus import CASES
from tests.lake import read_lake

OUTCOME = ["status", "error_code", "message", "rows_read", "rows_loaded", "rows_warned", "rows_rejected",
           "file_kind"]
FINDING = ["file_name", "source_line", "entity", "column_name", "rule", "severity", "message", "value"]


def _in_pass_order(home) -> list[tuple[str, str, bytes]]:
    """(centre, name, bytes) of every inbox file, in the order ``run_pass`` takes them."""
    from centres import builtin_profiles
    from ingestion import discover, group_by_centre, order_candidates
    from base.config import load_settings

    profiles = builtin_profiles()
    found = discover(load_settings(home), list(profiles), stable_seconds=0)
    out = []
    for centre, cands in group_by_centre(found.ready).items():
        out += [(centre, c.path.name, c.path.read_bytes()) for c in order_candidates(profiles[centre], cands)]
    return out


def _issues_of(home):
    con = read_lake(home)
    try:
        return con.execute("SELECT f.file_name, i.* FROM ingest.issues i JOIN ingest.files f USING (file_id)").df()
    finally:
        con.close()


def _upload_and_compare(corpus_pass, sources, tmp_path, monkeypatch, cases) -> None:
    from starlette.testclient import TestClient

    from ingestion import setup
    from tdm.web.accounts import account_store
    from tdm.web.app import create_app

    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("TDM_MODE", "demo")
    staged = tmp_path / "staged"
    write_inbox(staged, sources, CASES)           # every case, so each keeps its own rows (slots)
    keep = set(GOOD.values()) | {"knuh_baseline.csv", "knuh_visits.csv", "knuh_elisa.csv"} | \
        {c.file_name for c in cases}
    uploads = [u for u in _in_pass_order(staged) if u[1] in keep]
    assert len(uploads) == len(keep)

    (tmp_path / "home").mkdir(parents=True, exist_ok=True)   # setup initialises an existing folder only
    settings, profiles, _ = setup(tmp_path / "home")
    store = account_store(settings.home)
    clients = {}
    for centre in profiles:
        store.add_user(f"dm.{centre}", "upload test passphrase", "data_manager", centre, list(profiles))
        c = TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False)
        page = c.get("/login")
        c.post("/login", data={"csrf_token": _token(page.text), "username": f"dm.{centre}",
                               "password": "upload test passphrase"})
        clients[centre] = (c, _token(c.get(f"/centres/{centre}").text))

    for centre, name, data in uploads:
        c, token = clients[centre]
        r = c.post(f"/centres/{centre}/upload", data={"csrf_token": token}, files={"export": (name, data)})
        assert r.status_code == 303, (name, r.status_code, r.text[-500:])
        assert r.headers["location"].startswith(f"/centres/{centre}/files/")
        assert c.get(r.headers["location"]).status_code == 200

    files, _ = read_tables(settings.home)
    assert sorted(files["file_name"]) == sorted(keep)
    # byte-exact: the checksum recorded is that of the bytes sent (a generated ZIP differs between builds)
    sent = {name: hashlib.sha256(data).hexdigest() for _, name, data in uploads}
    assert dict(zip(files["file_name"], files["checksum_sha256"])) == sent
    assert dict(zip(files["file_name"], files["size_bytes"])) == {name: len(data) for _, name, data in uploads}
    left = [p.name for c in profiles for p in (settings.inbox / c).iterdir()]
    assert left == [], left                                                     # nothing left in an inbox
    web = files.set_index("file_name")
    folder = corpus_pass.files.set_index("file_name")
    for name in keep:
        a, b = folder.loc[name, OUTCOME].to_dict(), web.loc[name, OUTCOME].to_dict()
        assert _same(a, b), (name, {k: (a[k], b[k]) for k in a if not _same({k: a[k]}, {k: b[k]})})
        # archived (or, for direct identifiers, deleted) the same way
        assert pd.isna(folder.loc[name, "archive_path"]) == pd.isna(web.loc[name, "archive_path"]), name

    def findings(df):
        df = df[df["file_name"].isin(keep)]
        return sorted(tuple(str(v) for v in r) for r in df[FINDING].itertuples(index=False))

    expected = findings(corpus_pass.issues)
    assert findings(_issues_of(settings.home)) == expected
    assert len(expected) >= len(cases)                # the comparison is not vacuous


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _same(a: dict, b: dict) -> bool:
    return all((pd.isna(a[k]) and pd.isna(b[k])) or a[k] == b[k] for k in a)


# one rejected file per error code (PDF/ZIP/workbook named .csv, encrypted, identifiers, encodings...)
HOSTILE = list({c.code: c for c in reversed(CASES) if c.status == "rejected"}.values())
# one file with row-level findings per centre, so the loaded path is compared too
ROWS = [next(c for c in CASES if c.status == "loaded_with_rejections" and c.centre == centre)
        for centre in ("smc", "sch", "knuh")]


def test_hostile_files_uploaded_through_the_drop_zone_end_as_in_the_folder(corpus_pass, sources, tmp_path,
                                                                          monkeypatch):
    _upload_and_compare(corpus_pass, sources, tmp_path, monkeypatch, HOSTILE + ROWS)


@pytest.mark.slow
def test_the_whole_corpus_uploaded_through_the_drop_zone_ends_as_in_the_folder(corpus_pass, sources, tmp_path,
                                                                               monkeypatch):
    _upload_and_compare(corpus_pass, sources, tmp_path, monkeypatch, CASES)
