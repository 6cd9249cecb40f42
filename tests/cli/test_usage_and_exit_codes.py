"""The ``tdm`` command as users meet it: usage errors, ``--version``/``-h``, exit codes, the home rule.

Every command goes through :func:`tdm.cli.main`, the console-script entry point, so the exit codes
asserted here are the ones a shell, cron or a script sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tdm import __version__
from tdm.cli import main

DATA = Path(__file__).resolve().parents[1] / "analytics" / "data"
SIM = str(DATA / "roc_sim.csv")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [
    ["ingset"],                                   # unknown command
    [],                                           # bare tdm: help, then the usage exit code
    ["sql"],                                      # missing argument
    ["sql", "SELECT 1", "-f", "xml"],             # bad option value
    ["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--target-specificity", "80"],
    ["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--cutoffs", "3,x"],
    ["logistic", SIM, "--outcome", "mh", "--covariates", ""],
    ["ingest", "--stable-seconds", "soon"],       # wrong type
    ["status", "--no-such-option"],
    ["review"],                                   # group without a sub-command
    ["review", "frobnicate"],
    ["synth", "--patients", "0"],                 # out of range
])
def test_usage_errors_print_the_usage_line_and_exit_2(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Usage: tdm" in err
    assert "unexpected" not in err and "Traceback" not in err


def test_usage_error_names_the_problem(capsys):
    assert main(["ingset"]) == 2
    err = capsys.readouterr().err
    assert "Error: No such command 'ingset'" in err and "ingest" in err
    assert main(["sql", "SELECT 1", "-f", "xml"]) == 2
    assert "xml" in capsys.readouterr().err


def test_version_and_short_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tdm {__version__}"
    assert main(["-h"]) == 0
    out = capsys.readouterr().out
    assert "Usage: tdm" in out and "ingest" in out
    assert main(["ingest", "-h"]) == 0
    assert "--stable-seconds" in capsys.readouterr().out


def test_help_lists_commands_in_the_order_of_the_work(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    order = ["init", "template", "centres", "synth", "ingest", "watch", "status", "review", "scorecard",
             "analyse", "cutoffs", "sql", "roc", "logistic", "dictionary", "demo"]
    found = [out.find(f" {name} ") for name in order]
    assert all(pos > 0 for pos in found), dict(zip(order, found))
    assert found == sorted(found), dict(zip(order, found))


def test_invalid_centre_profile_exits_2(tmp_path, capsys):
    home = tmp_path / "h"
    assert main(["init", "--home", str(home)]) == 0
    (home / "centres" / "ajou.yaml").write_text("centre_id: ajou\nname: Ajou\nfiles:\n  - name: x\n    kind: wide\n"
                                                "    pattern: ['*.csv']\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["centres", "--home", str(home)]) == 2
    assert "INVALID ajou.yaml" in capsys.readouterr().err


# Every command that uses a home, with arguments that would otherwise be valid.
HOME_COMMANDS = [
    ["status"],
    ["sql", "SELECT 1"],
    ["centres"],
    ["synth", "--patients", "5"],
    ["ingest"],
    ["watch", "--interval", "1"],
    ["review", "list"],
    ["review", "confirm", "--centre", "smc", "--patient", "P1", "--rule", "lab_value_implausible",
     "--reason", "checked", "--reviewer", "me"],
    ["review", "revoke", "--centre", "smc", "--query", "1", "--reason", "re-ran", "--reviewer", "me"],
    ["scorecard"],
    ["analyse"],
    ["cutoffs"],
    ["connect"],
    ["queries", "list"],
    ["queries", "show", "1"],
    ["queries", "answer", "1", "--confirm", "--reason", "checked", "--by", "me"],
    ["queries", "close", "1", "--reason", "accepted", "--by", "me"],
    ["queries", "reopen", "1", "--reason", "re-ran", "--by", "me"],
    ["users", "list"],
    ["users", "add", "bob", "--role", "coordinator"],
    ["users", "passwd", "bob"],
    ["users", "disable", "bob"],
    ["users", "enable", "bob"],
    ["serve"],
    ["prefect", "status"],
    ["prefect", "stop"],
]


def _commands(group, path=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def test_every_command_with_a_home_is_in_the_missing_home_test():
    """A new command that uses a home must join HOME_COMMANDS (init and demo create their home)."""
    import typer.main

    from tdm.cli import app

    with_home = {path for path, cmd in _commands(typer.main.get_command(app))
                 if any("--home" in p.opts for p in cmd.params)}
    listed = {tuple(a for a in argv if not a.startswith("-"))[:len(path)] for argv in HOME_COMMANDS
              for path in with_home}
    assert with_home - {("init",), ("demo",)} <= listed, sorted(with_home - listed)


@pytest.mark.parametrize("argv", HOME_COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("how", ["option", "env"])
def test_a_missing_home_is_one_message_exit_2_and_creates_nothing(argv, how, tmp_path, monkeypatch, capsys):
    home = tmp_path / "typo"
    if how == "env":
        monkeypatch.setenv("TDM_HOME", str(home))
        rc = main(argv)
    else:
        rc = main([*argv, "--home", str(home)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"no TDM home at {home} (run 'tdm init' first)" in err
    assert not home.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["status"], ["ingest"], ["sql", "SELECT 1"]], ids=lambda a: a[0])
def test_an_uninitialised_folder_is_not_a_home(argv, tmp_path, capsys):
    folder = tmp_path / "some-folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a home")
    assert main([*argv, "--home", str(folder)]) == 2
    assert f"no TDM home at {folder} (run 'tdm init' first)" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_only_init_creates_a_home_and_its_key(tmp_path, capsys):
    home = tmp_path / "h"
    assert main(["init", "--home", str(home)]) == 0
    key = (home / "secrets" / "pseudonym.key").read_bytes()
    assert main(["init", "--home", str(home)]) == 0          # idempotent: the same key
    assert (home / "secrets" / "pseudonym.key").read_bytes() == key


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"], ["ingest", "--help"], ["ingset"]],
                         ids=" ".join)
def test_help_version_and_usage_errors_write_nothing(argv, tmp_path):
    """From the shell: no ./tdm-home, no .prefect, nothing in the current folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TDM_"))}
    proc = subprocess.run([sys.executable, "-c", "from tdm.cli import run; run()", *argv], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == (2 if argv == ["ingset"] else 0), proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, code", [
    (["template", "-o", "{tmp}/t"], 0),
    (["dictionary"], 0),
    (["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--json"], 0),
    (["roc", "{tmp}/missing.csv", "--marker", "a", "--outcome", "b"], 2),
    (["logistic", "{tmp}/missing.csv", "--outcome", "a", "--covariates", "b"], 2),
    (["roc", SIM, "--marker", "nope", "--outcome", "mh"], 2),
])
def test_commands_without_a_home_exit_codes(argv, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert rc == code, err
    assert "unexpected" not in err
    assert not (tmp_path / "tdm-home").exists()


@pytest.mark.parametrize("exc, code, text", [(RuntimeError("boom"), 1, "error: unexpected RuntimeError: boom"),
                                             (KeyboardInterrupt(), 130, ""),   # typer maps it to exit 130
                                             (SystemExit(3), 3, "")])
def test_the_unexpected_is_one_line_and_exit_1(exc, code, text, tmp_path, monkeypatch, capsys):
    import tdm.cli.core_cmds

    def fail():
        raise exc

    monkeypatch.setattr(tdm.cli.core_cmds, "template_csv", fail)
    assert main(["template", "-o", str(tmp_path)]) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_prefect_state_lives_under_the_home_the_command_uses(tmp_path, monkeypatch, capsys):
    """Issue 14, defect 4: never ./tdm-home/.prefect in the current folder; an operator's
    PREFECT_HOME wins."""
    home = tmp_path / "h"
    assert main(["init", "--home", str(home)]) == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    assert main(["status", "--home", str(home)]) == 0
    assert os.environ["PREFECT_HOME"] == str(home.resolve() / ".prefect")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "operator"))
    assert main(["status", "--home", str(home)]) == 0
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "operator")
    assert not (tmp_path / "tdm-home").exists()
