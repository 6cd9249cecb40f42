"""Discovery: complete files only, temporary names skipped, symlinks and strays ignored with a warning."""

from __future__ import annotations

import os
import time

from ingestion import discover, is_temporary, order_candidates


def _touch(path, age_seconds: float, content: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    t = time.time() - age_seconds
    os.utime(path, (t, t))


def test_a_file_still_being_written_is_not_picked_up(settings):
    inbox = settings.inbox / "c1"
    _touch(inbox / "old.csv", 60)
    _touch(inbox / "growing.csv", 0.5)
    found = discover(settings, ["c1"], stable_seconds=5)
    assert [c.path.name for c in found.ready] == ["old.csv"]
    assert [p.name for p in found.waiting] == ["growing.csv"]
    # once it has been left alone long enough it is picked up
    later = discover(settings, ["c1"], stable_seconds=5, now=time.time() + 10)
    assert {c.path.name for c in later.ready} == {"old.csv", "growing.csv"}


def test_temporary_names_are_skipped_silently(settings):
    names = ["a.csv.part", "~$book.xlsx", ".hidden.csv", "x.tmp", "y.crdownload", "ok.csv"]
    for n in names:
        _touch(settings.inbox / "c1" / n, 60)
    found = discover(settings, ["c1"], stable_seconds=1)
    assert [c.path.name for c in found.ready] == ["ok.csv"]
    assert found.warnings == ()
    assert all(is_temporary(n) for n in names[:-1]) and not is_temporary("ok.csv")


def test_symlinks_strays_and_unconfigured_folders_are_ignored_with_a_warning(settings, tmp_path):
    outside = tmp_path / "outside.csv"
    _touch(outside, 60)
    (settings.inbox / "c1").mkdir(parents=True)
    os.symlink(outside, settings.inbox / "c1" / "link.csv")
    (settings.inbox / "c1" / "sub").mkdir()
    _touch(settings.inbox / "unknown" / "f.csv", 60)
    os.symlink(settings.inbox / "c1", settings.inbox / "c2")  # a symlinked centre folder
    found = discover(settings, ["c1", "c2"], stable_seconds=1)
    assert found.ready == ()
    text = "\n".join(found.warnings)
    assert "symlink c1/link.csv" in text and "c1/sub" in text and "'unknown'" in text and "'c2'" in text


def test_files_are_ordered_baseline_first():
    from types import SimpleNamespace
    from pathlib import Path
    from ingestion import Candidate

    kinds = {"labs.csv": "labs_long", "visit.csv": "visit", "base.csv": "baseline", "elisa.csv": "elisa"}
    profile = SimpleNamespace(match=lambda name: SimpleNamespace(kind=kinds[name]))
    cands = [Candidate("c", Path(n), 1, float(i)) for i, n in enumerate(["labs.csv", "elisa.csv", "visit.csv", "base.csv"])]
    assert [c.path.name for c in order_candidates(profile, cands)] == ["base.csv", "visit.csv", "elisa.csv", "labs.csv"]


def test_an_unexpected_failure_of_one_file_does_not_stop_the_pass(settings, monkeypatch):
    import ingestion as ingest
    import ingestion.passes as passes
    from types import SimpleNamespace

    cands = [ingest.Candidate("c1", settings.inbox / "c1" / n, 1, 0.0) for n in ("a.csv", "b.csv")]

    def fake(settings_, profile, cand, key):
        if cand.path.name == "a.csv":
            raise OSError("No space left on device")
        return ingest.Committed("c1", cand.path.name, 7, "loaded", 1, 1, 0, 0, None, None, None)

    monkeypatch.setattr(passes, "process_file", fake)
    out = [ingest.process_file_guarded(settings, SimpleNamespace(), c, b"k") for c in cands]
    assert out[0].status == "failed" and "No space left" in out[0].message and "retried" in out[0].message
    assert out[1].status == "loaded"
