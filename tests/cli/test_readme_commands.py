"""Every ``tdm`` command of the README's "Everyday use" block works as written on a demo-like home.

The commands that run Prefect flows (``ingest``, ``analyse``, ``watch``) are only parsed here (their
options must exist); the flows run end to end in tests/flows and tests/cli/test_ingest_signals.py.
Their work is done with the same stages without Prefect to build the home."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from tdm.cli import app, main

README = Path(__file__).resolve().parents[2] / "README.md"
FLOW_COMMANDS = {"ingest", "analyse", "watch", "demo"}
#: Commands that serve until stopped (the web app runs for real in tests/web): parsed only.
SERVING_COMMANDS = {"serve"}


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Everyday use.*?```bash\n(.*?)```", text, re.S).group(1)
    return [ln.strip() for ln in block.splitlines() if ln.strip().startswith("tdm ")]


def _parse_only(args: list[str]) -> None:
    """Parse ``tdm ARGS`` (unknown commands and options raise) without running the command."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="tdm")
    cmd = group.get_command(ctx, args[0])
    assert cmd is not None, args[0]
    cmd.make_context(args[0], list(args[1:]), parent=ctx)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    import os

    from centres.profile import load_profiles
    from base.config import load_settings
    from ingestion import run_pass
    from publication import build_publication
    from synth import generate_cohort, write_exports

    home = tmp_path_factory.mktemp("readme") / "tdm-home"
    os.environ["TDM_PSEUDONYM_KEY"] = "readme-key-0123456789abcdef"
    try:
        assert main(["init", "--home", str(home)]) == 0
        profiles = load_profiles(home / "centres")
        write_exports(generate_cohort(240, tuple(profiles), 11), profiles, home / "inbox", seed=11)
        run_pass(str(home), stable_seconds=0)
        build_publication(load_settings(home), parameters={"seed": 1, "bootstrap_resamples": 50})
    finally:
        del os.environ["TDM_PSEUDONYM_KEY"]
    return home


def test_the_readme_lists_commands():
    cmds = readme_commands()
    assert len(cmds) >= 10 and any(c.startswith("tdm sql") for c in cmds)
    assert not any("duckdb -readonly" in ln for ln in README.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_works(line, demo_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TDM_HOME", str(demo_home))
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "readme-key-0123456789abcdef")
    monkeypatch.chdir(demo_home.parent)
    tokens = shlex.split(line, comments=True)[1:]
    out_file = None
    if ">" in tokens:
        k = tokens.index(">")
        tokens, out_file = tokens[:k], tokens[k + 1]
    if tokens[0] in FLOW_COMMANDS | SERVING_COMMANDS:
        _parse_only(tokens)
        return
    # a password prompt (tdm users add) is answered as a person would, twice
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-long-readme-password-42")
    rc = main(tokens)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "unexpected" not in captured.err
    if out_file:
        Path(out_file).write_text(captured.out, encoding="utf-8")
