"""One broken centre profile holds only that centre's files; every other centre ingests normally,
and the problem (every problem of the profile, in one line) shows in the pass, the reports index
and ``tdm status``."""

from __future__ import annotations

import shutil

import pytest

import ingestion as ingest
from centres import BUILTIN_DIR
from tdm.cli import main
from synth import generate_cohort, write_exports


def broken_ajou(home) -> None:
    """A copy of smc.yaml for a new centre with two mistakes: ``pattern:`` for ``patterns:`` and a
    misspelt top-level key."""
    text = (BUILTIN_DIR / "smc.yaml").read_text(encoding="utf-8")
    text = text.replace("centre_id: smc", "centre_id: ajou").replace("patterns:", "pattern:")
    (home / "centres" / "ajou.yaml").write_text(text + "\ndescripton: typo\n", encoding="utf-8")


@pytest.fixture
def home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "isolation-key-0123456789abcdef")
    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0
    from centres.profile import load_profiles

    profiles = load_profiles(home / "centres")
    write_exports(generate_cohort(30, ("smc",), 3), {"smc": profiles["smc"]}, home / "inbox", seed=3)
    (home / "inbox" / "ajou").mkdir()
    for f in (home / "inbox" / "smc").iterdir():
        shutil.copy(f, home / "inbox" / "ajou" / f"ajou_{f.name}")
    broken_ajou(home)
    capsys.readouterr()
    return home


def test_a_broken_profile_holds_only_its_own_centre(home, capsys):
    out = ingest.run_pass(str(home), stable_seconds=0)
    assert out and {c.centre_id for c in out} == {"smc"}
    assert all(c.status.startswith("loaded") for c in out)
    assert not list((home / "inbox" / "smc").iterdir()), "smc's files are archived"
    assert len(list((home / "inbox" / "ajou").iterdir())) == 1, "ajou's file waits in its inbox"
    index = (home / "reports" / "ajou" / "index.html").read_text(encoding="utf-8")
    assert "1 file(s) wait in the inbox because its profile is invalid" in index


def test_the_held_line_lists_every_problem_of_the_profile(home):
    from base.config import load_settings

    (h,) = ingest.held_centres(load_settings(home))
    line = h.line()
    assert h.centre_id == "ajou" and h.files == 1
    assert "\n" not in line and "more problem" not in line
    assert "files.0.patterns: Field required" in line
    assert "files.0.pattern: Extra inputs are not permitted" in line
    assert "descripton: Extra inputs are not permitted" in line
    assert "ajou.yaml" in line


def test_status_shows_the_held_centre(home, capsys):
    assert main(["status", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "held: centre ajou: 1 file(s) wait in the inbox because its profile is invalid" in " ".join(out.split())
    assert main(["centres", "--home", str(home)]) == 2
    assert "INVALID ajou.yaml" in capsys.readouterr().err
